/**
 * Init-data as kata delivers it (spec/runtime.md §3.6): a raw block device holding ASCII
 * `initdata`, a little-endian u64 length, then that many bytes of gzip'd TOML. The agent finds
 * the device, unpacks the TOML, checks its digest against the TEE's init-data register through an
 * injected {@linkcode InitDataBinding}, and writes `aa.toml` / `cdh.toml` / `policy.rego` under
 * `/run/confidential-containers/initdata/`.
 */
import { join } from "node:path";
import { type InitData, initDataDigest, parseInitDataToml } from "@coco/lib/initdata";
import { agentError } from "./errors.ts";

const MAGIC = new TextEncoder().encode("initdata");
/** Largest gzip blob accepted (the TOML carries policies, which can exceed 1 MiB). */
export const MAX_INITDATA_BYTES = 16 << 20;

/** The gzip blob inside an init-data disk image, or undefined when the magic is absent. */
export function initDataBlob(disk: Uint8Array): Uint8Array | undefined {
  if (disk.length < 16 || !MAGIC.every((b, i) => disk[i] === b)) return undefined;
  const len = new DataView(disk.buffer, disk.byteOffset + 8, 8).getBigUint64(0, true);
  if (len === 0n || len > BigInt(MAX_INITDATA_BYTES) || len > BigInt(disk.length - 16)) {
    throw agentError("invalid-argument", `init-data disk: length ${len} does not fit the device`);
  }
  return disk.subarray(16, 16 + Number(len));
}

/** Gunzips the blob into TOML text. */
export async function gunzipText(blob: Uint8Array): Promise<string> {
  const stream = new Blob([blob.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
  try {
    return await new Response(stream).text();
  } catch (err) {
    throw agentError("invalid-argument", "init-data disk: gzip payload is corrupt", err);
  }
}

/** Builds a disk image (for tests and the host side): magic, length, gzip, zero padding. */
export async function buildInitDataDisk(toml: string): Promise<Uint8Array> {
  const gz = new Uint8Array(
    await new Response(
      new Blob([toml]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const size = Math.ceil((16 + gz.length) / 512) * 512;
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(gz.length), true);
  out.set(gz, 16);
  return out;
}

/** Checks an init-data digest against the hardware measurement (host-data, mrconfigid, PCR). */
export interface InitDataBinding {
  check(digest: Uint8Array, init: InitData): Promise<void>;
}

/**
 * The sample TEE has no init-data register: it accepts, and the binding is left to the trustee
 * (the AA sends the init-data TOML with every attestation). Never used unless configured.
 */
export const sampleBinding: InitDataBinding = { check: () => Promise.resolve() };

async function readFull(f: Deno.FsFile, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const r = await f.read(buf.subarray(at));
    if (r === null || r === 0) break;
    at += r;
  }
  return buf.subarray(0, at);
}

/** Scans candidate block devices for the init-data magic; returns the first TOML found. */
export async function readInitDataFromDevices(
  devices: readonly string[],
): Promise<string | undefined> {
  for (const dev of devices) {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(dev, { read: true });
    } catch {
      continue;
    }
    try {
      const head = await readFull(f, 16);
      if (head.length < 16 || !MAGIC.every((b, i) => head[i] === b)) continue;
      const len = Number(new DataView(head.buffer).getBigUint64(8, true));
      if (len <= 0 || len > MAX_INITDATA_BYTES) continue;
      const disk = new Uint8Array(16 + len);
      disk.set(head);
      disk.set(await readFull(f, len), 16);
      const blob = initDataBlob(disk);
      if (blob) return await gunzipText(blob);
    } finally {
      f.close();
    }
  }
  return undefined;
}

/** Files extracted from init-data. */
export interface AppliedInitData {
  dir: string;
  toml: string;
  aaToml?: string;
  cdhToml?: string;
  policy?: string;
}

/** Parses, checks the binding, and writes the init-data files into `dir`. */
export async function applyInitData(
  toml: string,
  binding: InitDataBinding,
  dir: string,
): Promise<AppliedInitData> {
  const init = parseInitDataToml(toml);
  if (init.version !== "0.1.0") {
    throw agentError("invalid-argument", `init-data version "${init.version}" is not 0.1.0`);
  }
  await binding.check(initDataDigest(toml, init.algorithm), init);
  await Deno.mkdir(dir, { recursive: true });
  const out: AppliedInitData = { dir, toml: join(dir, "initdata.toml") };
  await Deno.writeTextFile(out.toml, toml);
  const write = async (key: string) => {
    const v = init.data[key];
    if (v === undefined) return undefined;
    const p = join(dir, key);
    await Deno.writeTextFile(p, v);
    return p;
  };
  const aa = await write("aa.toml");
  const cdh = await write("cdh.toml");
  if (aa) out.aaToml = aa;
  if (cdh) out.cdhToml = cdh;
  if (init.data["policy.rego"] !== undefined) out.policy = init.data["policy.rego"];
  return out;
}
