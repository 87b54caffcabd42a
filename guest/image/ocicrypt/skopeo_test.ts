/**
 * Byte compatibility with real skopeo (containers/ocicrypt): layers skopeo encrypts with
 * `--encryption-key jwe:pub.pem` decrypt here to the original blobs, and layers we encrypt decrypt
 * in skopeo with `--decryption-key`. Skipped with a reason when skopeo is missing.
 */
import assert from "node:assert/strict";
import { findPeers, skipUnless } from "../../../tests/peers.ts";
import {
  decryptLayer,
  encryptLayer,
  type LayerDescriptor,
  loadLayerKeys,
  OcicryptError,
} from "./mod.ts";
import {
  blobPath,
  collect,
  keyPair,
  pseudoRandom,
  putBlob,
  readOciLayout,
  run,
  sha256,
  writeManifest,
  writeOciLayout,
} from "./_testing.ts";

const peers = findPeers("skopeo");

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "ocicrypt-skopeo-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const open = async (path: string) => (await Deno.open(path)).readable;

for (const kind of ["rsa", "ec"] as const) {
  const name = `decryptLayer() decrypts layers skopeo encrypted for a ${kind} key`;
  Deno.test({ name, ...skipUnless(peers, name) }, () =>
    withDir(async (dir) => {
      const keys = keyPair(kind);
      await Deno.writeTextFile(`${dir}/pub.pem`, keys.publicPem);
      await Deno.writeTextFile(`${dir}/priv.pem`, keys.privatePem);
      const src = await writeOciLayout(`${dir}/src`, "v1", [
        pseudoRandom(1_500_000, 1),
        pseudoRandom(70_000, 2),
      ]);
      await run(peers.paths["skopeo"]!, [
        "--insecure-policy",
        "copy",
        "--quiet",
        "--encryption-key",
        `jwe:${dir}/pub.pem`,
        `oci:${dir}/src:v1`,
        `oci:${dir}/dst:v1`,
      ]);
      const dst = await readOciLayout(`${dir}/dst`, "v1");
      const source = await loadLayerKeys([`${dir}/priv.pem`]);
      const wrong = await loadLayerKeys([`${dir}/wrong.pem`], {
        readFile: () => Promise.resolve(new TextEncoder().encode(keyPair(kind).privatePem)),
      });
      assert.equal(dst.manifest.layers.length, 2);
      for (const [i, layer] of dst.manifest.layers.entries()) {
        assert.equal(layer.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip+encrypted");
        const orig = src.manifest.layers[i]!;
        assert.notEqual(layer.digest, orig.digest);
        const plain = await collect(
          await decryptLayer(await open(blobPath(`${dir}/dst`, layer.digest)), layer, source),
        );
        assert.equal(sha256(plain), orig.digest);
        await assert.rejects(
          decryptLayer(await open(blobPath(`${dir}/dst`, layer.digest)), layer, wrong)
            .then(async (s) => {
              await s.cancel();
            }),
          (e: unknown) => e instanceof OcicryptError && e.code === "no-key",
        );
      }
    }));
}

for (const kind of ["rsa", "ec"] as const) {
  const name = `skopeo --decryption-key decrypts layers encryptLayer() made for a ${kind} key`;
  Deno.test({ name, ...skipUnless(peers, name) }, () =>
    withDir(async (dir) => {
      const keys = keyPair(kind);
      await Deno.writeTextFile(`${dir}/priv.pem`, keys.privatePem);
      const src = await writeOciLayout(`${dir}/src`, "v1", [pseudoRandom(2_100_000, 3)]);
      const config = await Deno.readFile(blobPath(`${dir}/src`, src.manifest.config.digest));
      const layers: LayerDescriptor[] = [];
      for (const layer of src.manifest.layers) {
        const e = encryptLayer(await open(blobPath(`${dir}/src`, layer.digest)), layer, {
          jwe: [{ jwk: keys.publicJwk }],
        });
        const bytes = await collect(e.stream);
        const desc = await e.descriptor;
        assert.equal(await putBlob(`${dir}/ours`, bytes), desc.digest);
        layers.push(desc);
      }
      await writeManifest(`${dir}/ours`, "v1", config, layers);
      await run(peers.paths["skopeo"]!, [
        "--insecure-policy",
        "copy",
        "--quiet",
        "--decryption-key",
        `${dir}/priv.pem`,
        `oci:${dir}/ours:v1`,
        `oci:${dir}/plain:v1`,
      ]);
      const plain = await readOciLayout(`${dir}/plain`, "v1");
      assert.deepEqual(
        plain.manifest.layers.map((l) => [l.mediaType, l.digest]),
        src.manifest.layers.map((l) => [l.mediaType, l.digest]),
      );
    }));
}
