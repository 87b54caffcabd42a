/**
 * A minimal CRI client for e2e tests: `runtime.v1.ImageService/PullImage` over containerd's gRPC
 * socket, the way kubelet pulls (containerd 1.6 `ctr images pull` sends no snapshot labels and
 * downloads every layer; a CRI pull sends `containerd.io/snapshot.ref` and the `cri.*` labels).
 * The request is hand-encoded: one nested string field, no generated CRI protos needed.
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Pulls `image` through containerd's CRI ImageService on `socket`; rejects with the gRPC error. */
export async function criPull(socket: string, image: string): Promise<void> {
  const enc = new TextEncoder().encode(image);
  // PullImageRequest{image: ImageSpec{image: <ref>}}: field 1 (len) holding field 1 (len).
  const spec = new Uint8Array([0x0a, ...varint(enc.length), ...enc]);
  const request = Buffer.from([0x0a, ...varint(spec.length), ...spec]);
  const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        "/runtime.v1.ImageService/PullImage",
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        (err) => (err ? reject(err) : resolve()),
      )
    );
  } finally {
    client.close();
  }
}

/** A protobuf field value: string, varint (number/boolean), message bytes or a nested message. */
type PbValue = string | number | boolean | Uint8Array | PbFields;
/** Fields of a message as [number, value]; `undefined` values are left out. */
type PbFields = [number, PbValue | undefined][];

/** Encodes `fields` as a protobuf message (enough for the CRI requests below). */
export function pbEncode(fields: PbFields): Uint8Array {
  const out: number[] = [];
  for (const [num, v] of fields) {
    if (v === undefined) continue;
    if (typeof v === "number" || typeof v === "boolean") {
      out.push(...varint(num << 3), ...varint(Number(v)));
      continue;
    }
    const bytes = typeof v === "string"
      ? new TextEncoder().encode(v)
      : v instanceof Uint8Array
      ? v
      : pbEncode(v);
    out.push(...varint((num << 3) | 2), ...varint(bytes.length), ...bytes);
  }
  return new Uint8Array(out);
}

/** Decodes one message level: field number → values (varints as numbers, others as bytes). */
export function pbDecode(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let i = 0;
  const readVarint = () => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error("truncated protobuf varint");
      n += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return n;
    }
  };
  while (i < buf.length) {
    const key = readVarint();
    const num = Math.floor(key / 8);
    let v: number | Uint8Array;
    switch (key & 7) {
      case 0:
        v = readVarint();
        break;
      case 2: {
        const len = readVarint();
        v = buf.subarray(i, i + len);
        i += len;
        break;
      }
      case 1:
        v = buf.subarray(i, i += 8);
        break;
      case 5:
        v = buf.subarray(i, i += 4);
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`);
    }
    fields.set(num, [...(fields.get(num) ?? []), v]);
  }
  return fields;
}

const first = (m: Map<number, (number | Uint8Array)[]>, n: number) => m.get(n)?.[0];
const str = (v: number | Uint8Array | undefined) =>
  v instanceof Uint8Array ? new TextDecoder().decode(v) : "";
const map = (entries: Record<string, string>): PbFields =>
  Object.entries(entries).map(([k, v]) => [0, [[1, k], [2, v]]] as [number, PbFields]);
const withNum = (num: number, fields: PbFields): PbFields => fields.map(([, v]) => [num, v]);

/** CRI `ContainerState` values. */
export const CONTAINER_STATE = { CREATED: 0, RUNNING: 1, EXITED: 2, UNKNOWN: 3 } as const;

/** What the e2e tests read from `ContainerStatus`. */
export interface CriContainerStatus {
  id: string;
  state: number;
  exitCode: number;
  reason: string;
  message: string;
}

/** A pod for {@linkcode CriRuntime.runPodSandbox}: host network (no CNI), pod IPC and PID. */
export interface CriPod {
  name: string;
  namespace: string;
  uid: string;
  annotations: Record<string, string>;
}

/**
 * The CRI `runtime.v1.RuntimeService` calls a kubelet makes for one pod, hand-encoded
 * (k8s.io/cri-api field numbers), over containerd's gRPC socket.
 */
export class CriRuntime {
  readonly #client: grpc.Client;
  constructor(socket: string) {
    this.#client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  #call(method: string, req: PbFields): Promise<Map<number, (number | Uint8Array)[]>> {
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest(
        `/runtime.v1.RuntimeService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(pbEncode(req)),
        (err, res) => (err ? reject(err) : resolve(pbDecode(new Uint8Array(res!)))),
      )
    );
  }

  /** PodSandboxConfig: metadata, annotations, linux.security_context.namespace_options. */
  static podConfig(pod: CriPod): PbFields {
    const NODE = 2;
    return [
      [1, [[1, pod.name], [2, pod.uid], [3, pod.namespace], [4, 0]]],
      [2, pod.name],
      ...withNum(7, map(pod.annotations)),
      [8, [[2, [[1, [[1, NODE]]]]]]],
    ];
  }

  /** RunPodSandbox with `handler` as runtime_handler; resolves with the sandbox id. */
  async runPodSandbox(pod: CriPod, handler: string): Promise<string> {
    const res = await this.#call("RunPodSandbox", [[1, CriRuntime.podConfig(pod)], [2, handler]]);
    return str(first(res, 1));
  }

  /** CreateContainer of `image` running `command`; resolves with the container id. */
  async createContainer(
    podId: string,
    pod: CriPod,
    name: string,
    image: string,
    command: string[],
  ): Promise<string> {
    const config: PbFields = [
      [1, [[1, name], [2, 0]]],
      [2, [[1, image]]],
      ...command.map((c): [number, string] => [3, c]),
    ];
    const res = await this.#call("CreateContainer", [
      [1, podId],
      [2, config],
      [3, CriRuntime.podConfig(pod)],
    ]);
    return str(first(res, 1));
  }

  /** StartContainer. */
  async startContainer(id: string): Promise<void> {
    await this.#call("StartContainer", [[1, id]]);
  }

  /** StopContainer with a grace period in seconds. */
  async stopContainer(id: string, timeout: number): Promise<void> {
    await this.#call("StopContainer", [[1, id], [2, timeout]]);
  }

  /** ContainerStatus (not verbose). */
  async containerStatus(id: string): Promise<CriContainerStatus> {
    const res = await this.#call("ContainerStatus", [[1, id]]);
    const s = first(res, 1);
    const st = pbDecode(s instanceof Uint8Array ? s : new Uint8Array());
    const num = (n: number) => {
      const v = first(st, n);
      return typeof v === "number" ? v : 0;
    };
    return {
      id: str(first(st, 1)),
      state: num(3),
      exitCode: num(7),
      reason: str(first(st, 10)),
      message: str(first(st, 11)),
    };
  }

  /** PodSandboxStatus: the state (0 READY, 1 NOTREADY). */
  async podSandboxState(id: string): Promise<number> {
    const res = await this.#call("PodSandboxStatus", [[1, id]]);
    const s = first(res, 1);
    const v = first(pbDecode(s instanceof Uint8Array ? s : new Uint8Array()), 3);
    return typeof v === "number" ? v : 0;
  }

  /** StopPodSandbox. */
  async stopPodSandbox(id: string): Promise<void> {
    await this.#call("StopPodSandbox", [[1, id]]);
  }

  /** RemovePodSandbox. */
  async removePodSandbox(id: string): Promise<void> {
    await this.#call("RemovePodSandbox", [[1, id]]);
  }

  /** Closes the gRPC channel. */
  close(): void {
    this.#client.close();
  }
}
