/**
 * Image crypto benchmark: encrypted-layer decryption throughput (decryptLayer from file to file)
 * against `skopeo copy --decryption-key` on the same skopeo-encrypted 64 MiB layer, and signature
 * verifications per second for GPG simple signing (openpgp.js; RSA-2048 from real gpg when
 * present) and cosign (P-256).
 */
import { decryptLayer, type LayerDescriptor, loadLayerKeys } from "../guest/image/ocicrypt/mod.ts";
import {
  blobPath,
  keyPair,
  pseudoRandom,
  readOciLayout,
  writeOciLayout,
} from "../guest/image/ocicrypt/_testing.ts";
import {
  ATOMIC_TYPE,
  COSIGN_TYPE,
  encodeSignedPayload,
  parseCosignKey,
  parseGpgKeyring,
  parseSignedPayload,
  verifyCosignSignature,
  verifyGpgSignature,
} from "../guest/image/signature/mod.ts";
import {
  cosignKeyPair,
  cosignSign,
  exec,
  gpgHome,
  pgpKey,
  pgpSign,
} from "../guest/image/signature/_testing.ts";
import { which } from "../tests/peers.ts";
import { type BenchRow, percentile } from "./_lib.ts";

const LAYER_MIB = 64;

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

function throughputRow(name: string, ms: number[], peer?: string): BenchRow {
  const p50 = percentile(ms, 50);
  return {
    name,
    ops_per_s: LAYER_MIB / (p50 / 1000),
    p50_ms: p50,
    p99_ms: percentile(ms, 99),
    note: `MiB/s in ops/s column; ${LAYER_MIB} MiB layer, file to file`,
    ...(peer ? { peer } : {}),
  };
}

async function decryption(dir: string): Promise<BenchRow[]> {
  const skopeo = which("skopeo");
  if (!skopeo) return [{ name: "layer decrypt", note: "SKIPPED: skopeo not installed" }];
  const keys = keyPair("rsa");
  await Deno.writeTextFile(`${dir}/pub.pem`, keys.publicPem);
  await Deno.writeTextFile(`${dir}/priv.pem`, keys.privatePem);
  await writeOciLayout(`${dir}/src`, "v1", [pseudoRandom(LAYER_MIB << 20, 9)]);
  await exec(skopeo, [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--encryption-key",
    `jwe:${dir}/pub.pem`,
    `oci:${dir}/src:v1`,
    `oci:${dir}/enc:v1`,
  ]);
  const layer: LayerDescriptor = (await readOciLayout(`${dir}/enc`, "v1")).manifest.layers[0]!;
  const source = await loadLayerKeys([`${dir}/priv.pem`]);
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  const ours = await timed(async () => {
    const input = (await Deno.open(blobPath(`${dir}/enc`, layer.digest))).readable;
    const out = await Deno.open(`${dir}/plain.bin`, { write: true, create: true, truncate: true });
    const sampler = setInterval(() => rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss), 20);
    try {
      await (await decryptLayer(input, layer, source)).pipeTo(out.writable);
    } finally {
      clearInterval(sampler);
    }
  }, 5);
  const peer = await timed(async () => {
    await Deno.remove(`${dir}/plain`, { recursive: true }).catch(() => {});
    await exec(skopeo, [
      "--insecure-policy",
      "copy",
      "--quiet",
      "--decryption-key",
      `${dir}/priv.pem`,
      `oci:${dir}/enc:v1`,
      `oci:${dir}/plain:v1`,
    ]);
  }, 5);
  const row = throughputRow("layer decrypt: decryptLayer (AES-CTR+HMAC+digest)", ours);
  row.rss_mb = rssPeak / (1 << 20);
  row.note += `; RSS grew ${((rssPeak - rssBefore) / (1 << 20)).toFixed(1)} MiB`;
  return [row, throughputRow("layer decrypt: skopeo copy --decryption-key", peer, "skopeo 1.9")];
}

function rate(name: string, ms: number[], note: string): BenchRow {
  const total = ms.reduce((a, b) => a + b, 0);
  return {
    name,
    ops_per_s: ms.length / (total / 1000),
    p50_ms: percentile(ms, 50),
    p99_ms: percentile(ms, 99),
    note,
  };
}

async function verifications(dir: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ref = "registry.example/team/app:v1";
  const digest = `sha256:${"ab".repeat(32)}`;
  const payload = encodeSignedPayload(ref, digest, ATOMIC_TYPE);
  const pgp = await pgpKey();
  const ecRing = await parseGpgKeyring(pgp.publicRing, "bench");
  const ecSig = await pgpSign(payload, pgp.privateKey);
  const gpgVerify = (sig: Uint8Array, ring: typeof ecRing) => async () =>
    parseSignedPayload(await verifyGpgSignature(sig, ring), ATOMIC_TYPE);
  rows.push(
    rate(
      "verify GPG simple signing (openpgp.js, P-256)",
      await timed(gpgVerify(ecSig, ecRing), 200),
      "payload parsed",
    ),
  );
  const gpg = which("gpg");
  const skopeo = which("skopeo");
  if (gpg && skopeo) {
    await using home = await gpgHome(gpg, dir);
    await Deno.writeFile(`${dir}/m.json`, new TextEncoder().encode("{}"));
    await exec(
      skopeo,
      ["standalone-sign", "-o", `${dir}/sig`, `${dir}/m.json`, ref, home.fpr],
      home.env,
    );
    const ring = await parseGpgKeyring(home.publicRing, "gpg");
    const sig = await Deno.readFile(`${dir}/sig`);
    rows.push(
      rate(
        "verify GPG simple signing (openpgp.js, RSA-2048 from gpg)",
        await timed(gpgVerify(sig, ring), 200),
        "signature by skopeo standalone-sign",
      ),
    );
  }
  const key = cosignKeyPair();
  const cpayload = encodeSignedPayload("registry.example/team/app", digest, COSIGN_TYPE);
  const csig = cosignSign(cpayload, key.privateKey);
  const ckey = parseCosignKey(new TextEncoder().encode(key.publicPem), "bench");
  rows.push(rate(
    "verify cosign signature (P-256 ECDSA)",
    await timed(() => {
      if (!verifyCosignSignature(cpayload, csig, ckey)) throw new Error("cosign verify failed");
      parseSignedPayload(cpayload, COSIGN_TYPE);
      return Promise.resolve();
    }, 2000),
    "payload parsed",
  ));
  return rows;
}

/** Runs the image crypto benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-image-crypto-" });
  try {
    return [...await decryption(dir), ...await verifications(dir)];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.table(await bench());
