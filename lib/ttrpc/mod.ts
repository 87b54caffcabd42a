/**
 * ttrpc — containerd's lightweight RPC protocol — over any byte stream: framing, a concurrent
 * unary client and server, gRPC status codes, and unix / vsock / character-device transports.
 *
 * The guest's Attestation Agent and Confidential Data Hub serve their APIs with
 * {@linkcode TtrpcServer}; callers use {@linkcode TtrpcClient} with {@linkcode createClient}.
 *
 * @example Serve and call the AA's GetTeeType over a unix socket
 * ```ts
 * import { aa } from "@coco/lib/proto";
 * import { createClient, listen, TtrpcClient, TtrpcServer } from "@coco/lib/ttrpc";
 *
 * const server = new TtrpcServer();
 * server.registerService(aa.AttestationAgentService, { getTeeType: () => ({ tee: "sample" }) });
 * const listener = await listen("unix:///tmp/aa.sock");
 * const serving = server.serve(listener);
 *
 * const client = await TtrpcClient.connect("unix:///tmp/aa.sock");
 * const { tee } = await createClient(client, aa.AttestationAgentService).getTeeType({});
 * await client.close();
 * await server.close();
 * await serving;
 * ```
 *
 * @module
 */

export { Code, type CodeName, codeName, TtrpcError } from "./status.ts";
export {
  decodeHeader,
  encodeFrame,
  Flags,
  type Frame,
  type FrameHeader,
  FrameReader,
  FrameWriter,
  HEADER_LENGTH,
  MESSAGE_LENGTH_MAX,
  MessageType,
  type ReadResult,
  TruncatedFrameError,
} from "./frame.ts";
export {
  type CallOptions,
  type ClientOptions,
  createClient,
  type Metadata,
  type ServiceClient,
  TtrpcClient,
} from "./client.ts";
export {
  type CallContext,
  type Handler,
  type RawHandler,
  type ServerOptions,
  type ServiceImpl,
  TtrpcServer,
  unary,
  type UnaryMethod,
} from "./server.ts";
export {
  type Address,
  AddressError,
  type ByteStream,
  connect,
  connectUnix,
  formatAddress,
  listen,
  listenUnix,
  memoryPipe,
  openCharDevice,
  parseAddress,
  type StreamListener,
} from "./transport.ts";
