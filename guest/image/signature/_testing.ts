/**
 * Test helpers (not exported from mod.ts): an in-memory {@linkcode SignatureRegistry}, cosign
 * signatures made in Deno (P-256, DER), OpenPGP keys and simple signatures made with openpgp.js,
 * and gpg/skopeo runners with a throwaway GNUPGHOME.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import * as openpgp from "openpgp";
import type { ImageReference } from "@coco/lib/oci";
import { COSIGN_LAYER, COSIGN_SIGNATURE_ANNOTATION, cosignTag } from "./cosign.ts";
import type { SignatureRegistry } from "./sources.ts";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A registry in memory: manifests by `repo:tag`, blobs by digest. Counts fetches. */
export class MemoryRegistry implements SignatureRegistry {
  readonly manifests = new Map<string, Uint8Array>();
  readonly blobs = new Map<string, Uint8Array>();
  readonly extension = new Map<string, Uint8Array[]>();
  fetches = 0;

  fetchManifest(ref: ImageReference, tag: string): Promise<Uint8Array | undefined> {
    this.fetches++;
    return Promise.resolve(this.manifests.get(`${ref.name}:${tag}`));
  }
  fetchBlob(_ref: ImageReference, digest: string): Promise<Uint8Array> {
    this.fetches++;
    const b = this.blobs.get(digest);
    return b ? Promise.resolve(b) : Promise.reject(new Error(`blob ${digest} unknown`));
  }
  fetchExtensionSignatures(ref: ImageReference, digest: string): Promise<Uint8Array[]> {
    return Promise.resolve(this.extension.get(`${ref.name}@${digest}`) ?? []);
  }

  /** Stores a cosign `.sig` manifest for `digest` with one layer per (payload, signature). */
  putCosign(
    ref: ImageReference,
    digest: string,
    layers: { payload: Uint8Array; sig: Uint8Array }[],
  ) {
    const descs = layers.map(({ payload, sig }) => {
      const d = sha256(payload);
      this.blobs.set(d, payload);
      return {
        mediaType: COSIGN_LAYER,
        digest: d,
        size: payload.length,
        annotations: { [COSIGN_SIGNATURE_ANNOTATION]: sig.toBase64() },
      };
    });
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(new Uint8Array()),
        size: 0,
      },
      layers: descs,
    };
    this.manifests.set(
      `${ref.name}:${cosignTag(digest)}`,
      new TextEncoder().encode(JSON.stringify(manifest)),
    );
  }
}

/** A P-256 cosign key pair (private KeyObject, public PEM). */
export function cosignKeyPair(curve = "P-256"): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }) as string };
}

/** Signs like cosign: ECDSA-SHA256 over the payload, ASN.1 DER. */
export function cosignSign(payload: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(sign("sha256", payload, key));
}

/** An OpenPGP signing key made with openpgp.js (armored private, binary public keyring). */
export async function pgpKey(name = "Test Signer") {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "nistP256",
    userIDs: [{ name, email: "signer@example.test" }],
    format: "object",
  });
  return { privateKey, publicRing: publicKey.write() as Uint8Array };
}

/** A simple signature like skopeo's: a compressed signed message over `payload`. */
export async function pgpSign(payload: Uint8Array, key: openpgp.PrivateKey): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload });
  return await openpgp.sign({
    message,
    signingKeys: key,
    format: "binary",
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
  }) as Uint8Array;
}

/** A throwaway GNUPGHOME with one RSA signing key; dispose kills its gpg-agent. */
export async function gpgHome(gpg: string, dir: string) {
  const home = `${dir}/gnupg`;
  await Deno.mkdir(home, { mode: 0o700 });
  const env = { GNUPGHOME: home };
  await Deno.writeTextFile(
    `${dir}/keyparams`,
    "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\n" +
      "Name-Real: CoCo Test Signer\nName-Email: signer@example.test\nExpire-Date: 0\n%commit\n",
  );
  await exec(gpg, ["--batch", "--gen-key", `${dir}/keyparams`], env);
  const list = await exec(gpg, ["--batch", "--with-colons", "--list-secret-keys"], env);
  const fpr = list.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
  const pub = await new Deno.Command(gpg, {
    args: ["--batch", "--export", fpr],
    env,
    stdout: "piped",
  })
    .output();
  return {
    env,
    fpr,
    publicRing: pub.stdout,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("gpgconf", { args: ["--kill", "gpg-agent"], env, stderr: "null" })
        .output().catch(() => {});
    },
  };
}

/** Runs a command and returns stdout; throws with stderr on failure. */
export async function exec(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}
