/**
 * TPM-based verifier benchmarks: `tpm` verifications per second on upstream's
 * tpm_evidence.json (AK trusted), `az-snp-vtpm` on evidence-v1.json (vTPM quote + HCL binding +
 * SNP report, VCEK chain to the embedded Milan roots), and the guest `tpm` attester's quotes per
 * second against a private swtpm when it is installed.
 */
import { type BenchRow, measure } from "./_lib.ts";
import { createVerifier } from "../trustee/verifier/mod.ts";
import { spkiToPem, startSwtpm } from "../lib/tee/tpm/mod.ts";
import { TpmAttester } from "../guest/attester/tpm.ts";
import type { JsonValue } from "../lib/json/mod.ts";

const DATA = new URL("../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);

/** Runs the TPM verifier benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const tpmEv = JSON.parse(await Deno.readTextFile(new URL("tpm_evidence.json", DATA)));
  const tpm = createVerifier("tpm", {
    trustedAkKeys: [spkiToPem(Uint8Array.fromBase64(tpmEv.ak_public))],
  });
  rows.push(
    await measure(
      "verifier tpm (tpm_evidence.json)",
      () => tpm.evaluate({ evidence: tpmEv }),
      2000,
    ),
  );
  const azEv = JSON.parse(
    await Deno.readTextFile(new URL("az-snp-vtpm/evidence-v1.json", DATA)),
  ) as JsonValue;
  const az = createVerifier("az-snp-vtpm");
  const challenge = new TextEncoder().encode("challenge");
  rows.push(
    await measure(
      "verifier az-snp-vtpm (evidence-v1.json, offline)",
      () => az.evaluate({ evidence: azEv, reportData: challenge }),
      300,
    ),
  );
  let sw;
  try {
    sw = await startSwtpm();
  } catch (err) {
    rows.push({ name: "attester tpm (swtpm)", note: `skipped: ${(err as Error).message}` });
    return rows;
  }
  try {
    const attester = new TpmAttester({ target: { socket: sw.socket }, eventLogPath: null });
    const rd = new Uint8Array(48);
    rows.push({
      ...await measure(
        "attester tpm quote (swtpm, primary RSA AK)",
        () => attester.primaryEvidence(rd),
        30,
      ),
      peer: "swtpm 0.7",
    });
  } finally {
    await sw.stop();
  }
  return rows;
}
