import assert from "node:assert/strict";
import {
  chainIds,
  digestOf,
  layerKind,
  MediaType,
  OciError,
  parseDescriptor,
  parseDigest,
  parseImageConfigBytes,
  parseManifestDocument,
} from "./mod.ts";

const enc = new TextEncoder();
const D1 = `sha256:${"1".repeat(64)}` as const;
const D2 = `sha256:${"2".repeat(64)}` as const;
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const desc = (mediaType: string, digest: string = D1, size = 10) => ({ mediaType, digest, size });

function throwsCode(fn: () => unknown, code: string, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OciError);
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("layerKind() classifies plain, compressed and encrypted layer types", () => {
  assert.deepEqual(layerKind("application/vnd.oci.image.layer.v1.tar"), {
    compression: "none",
    encrypted: false,
    plainMediaType: "application/vnd.oci.image.layer.v1.tar",
  });
  assert.equal(layerKind("application/vnd.docker.image.rootfs.diff.tar.gzip")?.compression, "gzip");
  assert.equal(layerKind("application/vnd.oci.image.layer.v1.tar+zstd")?.compression, "zstd");
  const e = layerKind("application/vnd.oci.image.layer.v1.tar+zstd+encrypted");
  assert.equal(e?.encrypted, true);
  assert.equal(e?.compression, "zstd");
  assert.equal(
    layerKind("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip+encrypted")
      ?.compression,
    "gzip",
  );
  assert.equal(layerKind("application/vnd.docker.image.rootfs.diff.tar"), undefined);
  assert.equal(layerKind("application/wasm"), undefined);
  assert.equal(layerKind("application/vnd.oci.image.layer.v1.tar+encrypted+gzip"), undefined);
});

Deno.test("parseManifestDocument() parses OCI and Docker manifests and indexes", () => {
  const m = parseManifestDocument(
    json({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: desc(MediaType.dockerConfig),
      layers: [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", D2, 5)],
    }),
  );
  assert.equal(m.kind, "manifest");
  assert.equal(m.kind === "manifest" && m.layers[0]?.digest, D2);
  // OCI manifests may omit mediaType: Content-Type, then shape, decides.
  const noType = json({ schemaVersion: 2, config: desc(MediaType.ociConfig), layers: [] });
  assert.equal(parseManifestDocument(noType).kind, "manifest");
  assert.equal(
    parseManifestDocument(noType, MediaType.ociManifest + "; charset=utf-8").kind,
    "manifest",
  );
  const idx = parseManifestDocument(
    json({
      schemaVersion: 2,
      manifests: [{
        ...desc(MediaType.ociManifest),
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      }],
    }),
    MediaType.ociIndex,
  );
  assert.equal(idx.kind, "index");
  assert.equal(idx.kind === "index" && idx.manifests[0]?.platform?.variant, "v7");
});

Deno.test("parseManifestDocument() rejects hostile or malformed documents", () => {
  const ok = { schemaVersion: 2, config: desc(MediaType.ociConfig), layers: [] };
  const cases: [Uint8Array, string | undefined, string, RegExp][] = [
    [enc.encode("{"), undefined, "invalid_manifest", /not UTF-8 JSON/],
    [new Uint8Array([0xff, 0xfe]), undefined, "invalid_manifest", /not UTF-8 JSON/],
    [json([]), undefined, "invalid_manifest", /document must be an object/],
    [json({ ...ok, schemaVersion: 1 }), undefined, "invalid_manifest", /schemaVersion must be 2/],
    [json({ ...ok, layers: {} }), undefined, "invalid_manifest", /layers must be an array/],
    [json({ ...ok, mediaType: "text/html" }), undefined, "invalid_manifest", /unsupported media/],
    [
      json({ ...ok, mediaType: MediaType.ociManifest }),
      MediaType.ociIndex,
      "invalid_manifest",
      /contradicts/,
    ],
    [
      json({ ...ok, config: { ...desc(MediaType.ociConfig), size: -1 } }),
      undefined,
      "invalid_manifest",
      /config.size/,
    ],
    [
      json({ ...ok, config: { ...desc(MediaType.ociConfig), size: 1.5 } }),
      undefined,
      "invalid_manifest",
      /config.size/,
    ],
    [
      json({ ...ok, config: desc(MediaType.ociConfig, "sha256:xyz") }),
      undefined,
      "invalid_manifest",
      /config.digest/,
    ],
    [
      json({ ...ok, layers: [desc("not a type")] }),
      undefined,
      "invalid_manifest",
      /layers\[0\].mediaType/,
    ],
    [
      json({ ...ok, layers: [{ ...desc("a/b"), annotations: { k: 1 } }] }),
      undefined,
      "invalid_manifest",
      /annotations.k/,
    ],
    [
      json({ schemaVersion: 2, manifests: [{ ...desc("a/b"), platform: { os: "linux" } }] }),
      undefined,
      "invalid_index",
      /platform.architecture/,
    ],
    [json({ foo: 1 }), undefined, "invalid_manifest", /cannot tell/],
  ];
  for (const [bytes, ct, code, re] of cases) {
    throwsCode(() => parseManifestDocument(bytes, ct), code, re);
  }
});

Deno.test("parseImageConfigBytes() reads run settings and diff_ids, tolerating Docker nulls", () => {
  const cfg = parseImageConfigBytes(json({
    architecture: "amd64",
    os: "linux",
    config: {
      User: "app:grp",
      Env: ["PATH=/bin"],
      Entrypoint: null,
      Cmd: ["sh"],
      WorkingDir: "/w",
      Volumes: { "/data": {} },
      ExposedPorts: { "80/tcp": {} },
      Labels: { a: "b" },
    },
    rootfs: { type: "layers", diff_ids: [D1, D2] },
    history: [{ created_by: "x" }],
  }));
  assert.deepEqual(cfg.rootfs.diff_ids, [D1, D2]);
  assert.equal(cfg.config.Entrypoint, undefined);
  assert.deepEqual(cfg.config.Volumes, ["/data"]);
  assert.equal(cfg.config.User, "app:grp");
  throwsCode(
    () =>
      parseImageConfigBytes(
        json({ architecture: "amd64", os: "linux", rootfs: { type: "x", diff_ids: [] } }),
      ),
    "invalid_config",
    /rootfs.type/,
  );
  throwsCode(
    () =>
      parseImageConfigBytes(
        json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: ["x"] } }),
      ),
    "invalid_config",
    /rootfs.diff_ids\[0\]/,
  );
  throwsCode(
    () =>
      parseImageConfigBytes(
        json({
          architecture: "amd64",
          os: "linux",
          config: { Cmd: "sh" },
          rootfs: { type: "layers", diff_ids: [] },
        }),
      ),
    "invalid_config",
    /config.Cmd/,
  );
});

Deno.test("parseDescriptor() and parseDigest() check sizes and digest encodings", () => {
  assert.equal(parseDescriptor(desc("a/b")).size, 10);
  throwsCode(
    () => parseDescriptor(desc("a/b", "sha512:" + "a".repeat(64))),
    "invalid_descriptor",
    /128/,
  );
  assert.equal(parseDigest("sha512:" + "a".repeat(128)).length, 135);
  throwsCode(() => parseDigest("foo:bar"), "invalid_digest", /unsupported algorithm/);
});

Deno.test("chainIds() follows the OCI definition", () => {
  const ids = chainIds([D1, D2]);
  assert.equal(ids[0], D1);
  assert.equal(ids[1], digestOf(enc.encode(`${D1} ${D2}`)));
  assert.equal(
    digestOf(enc.encode("abc")),
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
