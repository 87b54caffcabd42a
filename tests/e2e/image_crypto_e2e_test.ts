/**
 * Image signatures and encrypted layers against real peers: a local docker-registry on loopback,
 * images pushed by skopeo (GPG-signed with `--sign-by` into a lookaside store, JWE-encrypted with
 * `--encryption-key`), a cosign `.sig` manifest pushed from Deno, and a layer wrapped for the
 * `attestation-agent` key provider whose KEK the CDH serves (offline fs KBC). Verification and
 * decryption go through checkImagePolicy / decryptLayer reading from the registry over HTTP.
 *
 * Longer than 300 lines on purpose: one scenario per peer flow, in one file so the registry and
 * the GPG home are set up once.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type ImageReference, parseReference } from "@coco/lib/oci";
import { nullLogger } from "@coco/lib/log";
import { findPeers, skipUnless } from "../peers.ts";
import { ConfidentialDataHub, OfflineFsKbc } from "../../guest/cdh/mod.ts";
import {
  attestationAgentUnwrapper,
  decryptLayer,
  encryptLayer,
  type LayerDescriptor,
  loadLayerKeys,
  OcicryptError,
  wrapAnnotationPacket,
} from "../../guest/image/ocicrypt/mod.ts";
import {
  checkImagePolicy,
  COSIGN_LAYER,
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_TYPE,
  cosignTag,
  encodeSignedPayload,
  parsePolicy,
  parseRegistriesD,
  resourceLoader,
  SignatureError,
  type SignatureRegistry,
} from "../../guest/image/signature/mod.ts";
import {
  blobPath,
  collect,
  keyPair,
  pseudoRandom,
  writeOciLayout,
} from "../../guest/image/ocicrypt/_testing.ts";
import { cosignKeyPair, cosignSign, exec, gpgHome } from "../../guest/image/signature/_testing.ts";

const peers = findPeers("docker-registry", "skopeo", "gpg");
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A docker-registry on 127.0.0.1:0; the bound port is read from its log. Stopped by PID. */
async function startRegistry(dir: string) {
  await Deno.writeTextFile(
    `${dir}/registry.yml`,
    `version: 0.1\nlog: {level: info}\nstorage:\n  filesystem: {rootdirectory: ${dir}/data}\n` +
      `http:\n  addr: 127.0.0.1:0\nhealth: {storagedriver: {enabled: false}}\n`,
  );
  const child = new Deno.Command(peers.paths["docker-registry"]!, {
    args: ["serve", `${dir}/registry.yml`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let host: string | undefined;
  while (!host) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`docker-registry exited: ${log}`);
    log += value;
    host = /listening on (127\.0\.0\.1:\d+)/.exec(log)?.[1];
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  return {
    host,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await drain.catch(() => {});
    },
  };
}

/** Anonymous plain-HTTP registry access for the checks (the pull pipeline has its own client). */
function httpRegistry(host: string) {
  const base = (ref: ImageReference) => `http://${host}/v2/${ref.repository}`;
  const api = {
    async manifest(ref: ImageReference, tag: string) {
      const res = await fetch(`${base(ref)}/manifests/${tag}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (!res.ok) throw new Error(`manifest ${tag}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    async blobStream(ref: ImageReference, digest: string) {
      const res = await fetch(`${base(ref)}/blobs/${digest}`);
      if (!res.ok || !res.body) throw new Error(`blob ${digest}: HTTP ${res.status}`);
      return res.body;
    },
    async push(ref: ImageReference, bytes: Uint8Array) {
      const start = await fetch(`${base(ref)}/blobs/uploads/`, { method: "POST" });
      await start.body?.cancel();
      const loc = new URL(start.headers.get("location")!, `http://${host}`);
      loc.searchParams.set("digest", sha256(bytes));
      const put = await fetch(loc, { method: "PUT", body: new Uint8Array(bytes) });
      await put.body?.cancel();
      assert.equal(put.status, 201);
      return sha256(bytes);
    },
    async putManifest(ref: ImageReference, tag: string, manifest: unknown) {
      const res = await fetch(`${base(ref)}/manifests/${tag}`, {
        method: "PUT",
        headers: { "Content-Type": OCI_MANIFEST },
        body: JSON.stringify(manifest),
      });
      await res.body?.cancel();
      assert.equal(res.status, 201);
    },
  };
  const signatures: SignatureRegistry = {
    fetchManifest: api.manifest,
    async fetchBlob(ref, digest) {
      const bytes = await collect(await api.blobStream(ref, digest));
      assert.equal(sha256(bytes), digest);
      return bytes;
    },
  };
  return { ...api, signatures };
}

const name = "real registry: skopeo-signed, cosign-signed and encrypted images verify and decrypt";
Deno.test({ name, ...skipUnless(peers, name) }, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "image-crypto-e2e-" });
  try {
    await using registry = await startRegistry(dir);
    await using gpg = await gpgHome(peers.paths["gpg"]!, dir);
    const reg = httpRegistry(registry.host);
    const skopeo = (...args: string[]) => exec(peers.paths["skopeo"]!, args, gpg.env);
    const src = await writeOciLayout(`${dir}/oci`, "v1", [
      pseudoRandom(900_000, 5),
      pseudoRandom(40_000, 6),
    ]);
    await Deno.writeFile(`${dir}/ring.gpg`, gpg.publicRing);
    await Deno.mkdir(`${dir}/registries.d`);
    await Deno.writeTextFile(
      `${dir}/registries.d/default.yaml`,
      `docker:\n  ${registry.host}:\n    lookaside: file://${dir}/lookaside\n` +
        `    lookaside-staging: file://${dir}/lookaside\n`,
    );
    const repo = (r: string) => `${registry.host}/${r}`;
    const digestOf = async (ref: string) =>
      sha256((await reg.manifest(parseReference(ref), ref.split(":").pop()!))!);

    await t.step(
      "GPG: skopeo --sign-by passes signedBy; unsigned and tampered are refused",
      async () => {
        await skopeo(
          "--registries.d",
          `${dir}/registries.d`,
          "--insecure-policy",
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          "--sign-by",
          gpg.fpr,
          `oci:${dir}/oci:v1`,
          `docker://${repo("signed:gpg")}`,
        );
        await writeOciLayout(`${dir}/oci2`, "v1", [pseudoRandom(10_000, 7)]);
        await skopeo(
          "--insecure-policy",
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          `oci:${dir}/oci2:v1`,
          `docker://${repo("signed:unsigned")}`,
        );
        // The signed image under another tag: its signature names :gpg.
        await skopeo(
          "--insecure-policy",
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          `oci:${dir}/oci:v1`,
          `docker://${repo("signed:retagged")}`,
        );
        const policy = parsePolicy(JSON.stringify({
          default: [{ type: "reject" }],
          transports: {
            docker: {
              [repo("signed")]: [{
                type: "signedBy",
                keyType: "GPGKeys",
                keyPath: `${dir}/ring.gpg`,
              }],
            },
          },
        }));
        const deps = {
          policy,
          loadResource: resourceLoader(),
          registriesD: parseRegistriesD([{
            name: "default.yaml",
            text: await Deno.readTextFile(`${dir}/registries.d/default.yaml`),
          }]),
        };
        const signedDigest = await digestOf(repo("signed:gpg"));
        const decision = await checkImagePolicy(
          { reference: parseReference(repo("signed:gpg")), manifestDigest: signedDigest },
          deps,
        );
        assert.equal(decision.signed, true);
        await assert.rejects(
          checkImagePolicy({
            reference: parseReference(repo("signed:unsigned")),
            manifestDigest: await digestOf(repo("signed:unsigned")),
          }, deps),
          (e) => e instanceof SignatureError && e.code === "no-signature",
        );
        await assert.rejects(
          checkImagePolicy({
            reference: parseReference(repo("signed:retagged")),
            manifestDigest: signedDigest,
          }, deps),
          (e) => e instanceof SignatureError && e.code === "identity-mismatch",
        );
        const sigFile = `${dir}/lookaside/signed@${signedDigest.replace(":", "=")}/signature-1`;
        const sig = await Deno.readFile(sigFile);
        sig[sig.length - 20]! ^= 1;
        await Deno.writeFile(sigFile, sig);
        await assert.rejects(
          checkImagePolicy({
            reference: parseReference(repo("signed:gpg")),
            manifestDigest: signedDigest,
          }, deps),
          (e) => e instanceof SignatureError && e.code === "invalid-signature",
        );
      },
    );

    await t.step(
      "cosign: a .sig manifest pushed from Deno passes sigstoreSigned; another key is refused",
      async () => {
        await skopeo(
          "--insecure-policy",
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          `oci:${dir}/oci:v1`,
          `docker://${repo("cosigned:v1")}`,
        );
        const ref = parseReference(repo("cosigned:v1"));
        const digest = await digestOf(repo("cosigned:v1"));
        const key = cosignKeyPair();
        const payload = encodeSignedPayload(repo("cosigned"), digest, COSIGN_TYPE);
        const config = new TextEncoder().encode("{}");
        await reg.putManifest(ref, cosignTag(digest), {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: {
            mediaType: "application/vnd.oci.image.config.v1+json",
            digest: await reg.push(ref, config),
            size: config.length,
          },
          layers: [{
            mediaType: COSIGN_LAYER,
            digest: await reg.push(ref, payload),
            size: payload.length,
            annotations: {
              [COSIGN_SIGNATURE_ANNOTATION]: cosignSign(payload, key.privateKey).toBase64(),
            },
          }],
        });
        const policyFor = (pem: string) =>
          parsePolicy(JSON.stringify({
            default: [{ type: "reject" }],
            transports: {
              docker: { [repo("cosigned")]: [{ type: "sigstoreSigned", keyData: pem }] },
            },
          }));
        const input = { reference: ref, manifestDigest: digest };
        const deps = { loadResource: resourceLoader(), registry: reg.signatures };
        assert.equal(
          (await checkImagePolicy(input, { ...deps, policy: policyFor(key.publicPem) })).signed,
          true,
        );
        await assert.rejects(
          checkImagePolicy(input, { ...deps, policy: policyFor(cosignKeyPair().publicPem) }),
          (e) => e instanceof SignatureError && e.code === "invalid-signature",
        );
      },
    );

    await t.step(
      "JWE: layers skopeo encrypted in the registry decrypt to the original blobs",
      async () => {
        const keys = keyPair("rsa");
        await Deno.writeTextFile(`${dir}/pub.pem`, keys.publicPem);
        await Deno.writeTextFile(`${dir}/priv.pem`, keys.privatePem);
        await skopeo(
          "--insecure-policy",
          "copy",
          "--quiet",
          "--dest-tls-verify=false",
          "--encryption-key",
          `jwe:${dir}/pub.pem`,
          `oci:${dir}/oci:v1`,
          `docker://${repo("enc:jwe")}`,
        );
        const ref = parseReference(repo("enc:jwe"));
        const manifest = JSON.parse(new TextDecoder().decode(await reg.manifest(ref, "jwe"))) as {
          layers: LayerDescriptor[];
        };
        const right = await loadLayerKeys([`${dir}/priv.pem`]);
        const wrong = await loadLayerKeys([`${dir}/wrong.pem`], {
          readFile: () => Promise.resolve(new TextEncoder().encode(keyPair("rsa").privatePem)),
        });
        for (const [i, layer] of manifest.layers.entries()) {
          assert.match(layer.mediaType, /\+encrypted$/);
          const plain = await collect(
            await decryptLayer(await reg.blobStream(ref, layer.digest), layer, right),
          );
          assert.equal(sha256(plain), src.manifest.layers[i]!.digest);
          await assert.rejects(
            decryptLayer(await reg.blobStream(ref, layer.digest), layer, wrong),
            (e) => e instanceof OcicryptError && e.code === "no-key",
          );
        }
      },
    );

    await t.step(
      "attestation-agent provider: the CDH releases the KEK and the layer decrypts",
      async () => {
        const kek = crypto.getRandomValues(new Uint8Array(32));
        await Deno.writeTextFile(
          `${dir}/kbc-keys.json`,
          JSON.stringify({ "default/key/key_id1": kek.toBase64() }),
        );
        const hub = new ConfidentialDataHub({
          kbc: new OfflineFsKbc([`${dir}/kbc-keys.json`]),
          skipSealedSecretVerification: false,
          logger: nullLogger,
        });
        const ref = parseReference(repo("enc:aa"));
        const plainLayer = src.manifest.layers[0]!;
        const e = encryptLayer(
          (await Deno.open(blobPath(`${dir}/oci`, plainLayer.digest))).readable,
          plainLayer,
          {
            providers: [{
              name: "attestation-agent",
              wrap: (o) => wrapAnnotationPacket(o, kek, "kbs:///default/key/key_id1"),
            }],
          },
        );
        const cipher = await collect(e.stream);
        const layer = await e.descriptor;
        await reg.push(ref, cipher);
        const keys = {
          keyProviders: {
            "attestation-agent": attestationAgentUnwrapper((u) => hub.getResource(u)),
          },
        };
        const plain = await collect(
          await decryptLayer(await reg.blobStream(ref, layer.digest), layer, keys),
        );
        assert.equal(sha256(plain), plainLayer.digest);
        hub.close();
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
