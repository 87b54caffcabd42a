/** Encoding and decoding of the `ttrpc.Request` / `ttrpc.Response` envelopes. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type Request,
  RequestSchema,
  type Response,
  ResponseSchema,
} from "../proto/gen/ttrpc/request_pb.ts";
import { StatusSchema } from "../proto/gen/google/rpc/status_pb.ts";

/** setTimeout's ceiling; longer deadlines (about 24.8 days) are sent but not armed locally. */
export const MAX_TIMER_MS = 0x7fff_ffff;

/** Call metadata as ttrpc carries it: keys may repeat. */
export type Metadata = Record<string, string | readonly string[]>;

/** Builds and encodes a `ttrpc.Request`. */
export function encodeRequest(
  service: string,
  method: string,
  payload: Uint8Array,
  timeoutNano: bigint,
  metadata: Metadata | undefined,
): Uint8Array {
  const kvs: Array<{ key: string; value: string }> = [];
  for (const [key, value] of Object.entries(metadata ?? {})) {
    for (const v of typeof value === "string" ? [value] : value) kvs.push({ key, value: v });
  }
  return toBinary(
    RequestSchema,
    create(RequestSchema, { service, method, payload, timeoutNano, metadata: kvs }),
  );
}

/** Decodes a `ttrpc.Request`; throws on malformed protobuf. */
export function decodeRequest(bytes: Uint8Array): Request {
  return fromBinary(RequestSchema, bytes);
}

/**
 * Encodes a `ttrpc.Response`. The status is always present (an empty `Status{}` for OK), as the
 * Go server sends it.
 */
export function encodeResponse(code: number, message: string, payload?: Uint8Array): Uint8Array {
  return toBinary(
    ResponseSchema,
    create(ResponseSchema, {
      status: create(StatusSchema, { code, message }),
      payload: payload ?? new Uint8Array(0),
    }),
  );
}

/** Decodes a `ttrpc.Response`; throws on malformed protobuf. */
export function decodeResponse(bytes: Uint8Array): Response {
  return fromBinary(ResponseSchema, bytes);
}
