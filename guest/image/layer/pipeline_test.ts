import assert from "node:assert/strict";
import zlib from "node:zlib";
import { type Digest, digestOf, layerKind } from "@coco/lib/oci";
import { ImageError } from "../errors.ts";
import { tar } from "../_testing/tar.ts";
import { processLayer } from "./pipeline.ts";
import { LayerStore } from "./store.ts";
import type { Unpacker } from "./hooks.ts";

const enc = new TextEncoder();
const stream = (b: Uint8Array) => new Blob([b.slice()]).stream();

/** Reads only the first 512 bytes (a header), like an unpacker that stops early. */
const earlyStop: Unpacker = async (s) => {
  const r = s.getReader();
  await r.read();
  await r.cancel();
};

async function withStore(fn: (store: LayerStore, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir();
  try {
    const store = new LayerStore(root);
    await store.init();
    await fn(store, root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("processLayer() decodes multi-member gzip and hashes the trailing bytes the unpacker skipped", async () => {
  await withStore(async (store) => {
    const raw = tar([{ path: "a", data: enc.encode("a".repeat(3000)) }]);
    const gz = new Uint8Array([
      ...zlib.gzipSync(raw.subarray(0, 1000)),
      ...zlib.gzipSync(raw.subarray(1000)),
    ]);
    const desc = {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: digestOf(gz),
      size: gz.length,
    };
    const path = await processLayer({
      descriptor: desc,
      kind: layerKind(desc.mediaType)!,
      diffId: digestOf(raw),
      open: () => Promise.resolve(stream(gz)),
      store,
      unpack: earlyStop,
    });
    assert.equal(path, store.path(digestOf(raw)));
    const bad: Digest = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      processLayer({
        descriptor: desc,
        kind: layerKind(desc.mediaType)!,
        diffId: bad,
        open: () => Promise.resolve(stream(gz)),
        store,
        unpack: earlyStop,
      }),
      (e) => e instanceof ImageError && e.code === "diff_id_mismatch",
    );
    assert.equal(await store.has(bad), false);
    assert.deepEqual([...Deno.readDirSync(store.layersDir)].map((e) => e.name), [
      digestOf(raw).replace(":", "-"),
    ]);
  });
});

Deno.test("processLayer() reports a decryptor failure and a corrupt gzip stream, leaving no layer", async () => {
  await withStore(async (store) => {
    const raw = tar([{ path: "a", data: enc.encode("x") }]);
    const base = {
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
        digest: digestOf(raw),
        size: raw.length,
      },
      diffId: digestOf(raw),
      open: () => Promise.resolve(stream(raw)),
      store,
      unpack: earlyStop,
    };
    await assert.rejects(
      processLayer({
        ...base,
        kind: layerKind(base.descriptor.mediaType)!,
        decrypt: () => Promise.reject(new Error("no key fits")),
      }),
      (e) =>
        e instanceof ImageError && e.code === "decrypt_failed" && /no key fits/.test(e.message),
    );
    await assert.rejects(
      processLayer({ ...base, kind: layerKind("application/vnd.oci.image.layer.v1.tar+gzip")! }),
      (e) => e instanceof ImageError && e.code === "unpack_failed",
    );
    assert.deepEqual([...Deno.readDirSync(store.layersDir)], []);
  });
});
