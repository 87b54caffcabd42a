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
