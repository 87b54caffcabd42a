/**
 * NVIDIA verifier benchmark: full local `evaluate` of the upstream Hopper vectors (chain to the
 * embedded NVIDIA root, FWID, ECDSA P-384 report signature, nonce, claims) with warm caches
 * (parsed chain, certificate signature checks and the imported leaf key are memoized).
 */
import { type BenchRow, measure } from "./_lib.ts";
import { NvidiaVerifier } from "../trustee/verifier/nvidia/mod.ts";
import type { JsonValue } from "../lib/json/mod.ts";

const DIR = new URL("../trustee/verifier/nvidia/testdata/", import.meta.url);
const read = (name: string) => Deno.readTextFile(new URL(name, DIR));
const HOPPER_NONCE = Uint8Array.fromHex(
  "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
);
const COCO_REPORT_DATA = Uint8Array.fromHex(
  "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250",
);

async function evidenceOf(report: string, chain: string): Promise<JsonValue> {
  const certificate = new TextEncoder().encode(await read(chain)).toBase64();
  const evidence = (await read(report)).trim();
  return { device_evidence_list: [{ arch: "HOPPER", evidence, certificate }] };
}

/** Runs the NVIDIA verifier benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const verifier = new NvidiaVerifier();
  const hopper = await evidenceOf("hopperAttestationReport.txt", "hopper_cert_chain_case1.txt");
  const coco = await evidenceOf("hopper_coco_report1.txt", "hopper_coco_certs1.txt");
  return [
    await measure(
      "nvidia verify (Hopper vector, local)",
      () => verifier.evaluate({ evidence: hopper, reportData: HOPPER_NONCE }),
      1000,
      "chain+FWID+sig+nonce+claims, warm chain cache",
    ),
    await measure(
      "nvidia verify (CoCo CI Hopper, local)",
      () => verifier.evaluate({ evidence: coco, reportData: COCO_REPORT_DATA }),
      1000,
      "same, 48-byte report data",
    ),
  ];
}

if (import.meta.main) console.table(await bench());
