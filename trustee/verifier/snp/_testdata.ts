/** Test vectors shared by the SNP verifier tests (Trustee's deps/verifier/test_data). */
import type { JsonValue } from "@coco/lib/json";
import assert from "node:assert/strict";
import { VerifierError, type VerifierErrorCode } from "../types.ts";

const TD = new URL("../../../../shared/testdata/trustee/", import.meta.url);
const SNP = new URL("deps/verifier/test_data/snp/", TD);

/** Reads a file from the SNP test-data directory. */
export const snpFile = (name: string) => Deno.readFileSync(new URL(name, SNP));

/** The e2e Genoa evidence (fresh copy each call). */
export function e2eEvidence(): {
  attestation_report: Record<string, JsonValue> & {
    report_data: number[];
    chip_id: number[];
    measurement: number[];
    signature: { r: number[]; s: number[] };
    reported_tcb: { microcode: number };
    vmpl: number;
    version: number;
  };
  cert_chain: { cert_type: JsonValue; data: number[] }[] | null;
} {
  return JSON.parse(
    Deno.readTextFileSync(new URL("attestation-service/tests/e2e/evidence.json", TD)),
  );
}

/** The Azure Milan VCEK + ASK + ARK PEM and the v2 SNP report inside its HCL report. */
export const azVcekPem = () =>
  Deno.readTextFileSync(new URL("deps/verifier/test_data/az-snp-vtpm/vcek.pem", TD));
export const azSnpReport = () =>
  Deno.readFileSync(new URL("deps/verifier/test_data/az-snp-vtpm/hcl-report.bin", TD)).slice(
    0x20,
    0x20 + 1184,
  );

/** PEM text of DER certificates. */
export const toPem = (...ders: Uint8Array[]) =>
  ders.map((d) => `-----BEGIN CERTIFICATE-----\n${d.toBase64()}\n-----END CERTIFICATE-----\n`)
    .join("");

/** Copy of `bytes` with byte `i` incremented (mod 256). */
export function flip(bytes: Uint8Array, i: number): Uint8Array {
  const out = bytes.slice();
  out[i] = (out[i]! + 1) & 0xff;
  return out;
}

/** A clock inside the shipped VLEK's validity (2024-12-10 → 2025-12-10). */
export const VLEK_CLOCK = () => new Date("2025-06-01T00:00:00Z");

/** Asserts a VerifierError with `code` whose message matches `msg`. */
export async function rejectsWith(p: Promise<unknown>, code: VerifierErrorCode, msg: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerifierError, `expected VerifierError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, msg);
    return true;
  });
}

/** Claims Trustee produces for the e2e evidence (spec §3.8). */
export const E2E_CLAIMS = {
  policy_abi_major: 0,
  policy_abi_minor: 0,
  policy_smt_allowed: true,
  policy_migrate_ma: false,
  policy_debug_allowed: false,
  policy_single_socket: false,
  reported_tcb_bootloader: 10,
  reported_tcb_tee: 0,
  reported_tcb_snp: 23,
  reported_tcb_microcode: 25,
  platform_tsme_enabled: false,
  platform_smt_enabled: true,
  measurement:
    "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e",
  report_data:
    "7e7320889600c7ac133aea7b896c51f41026002982292a7369559796999c1bf929eef3ff23c46e858f0b1982f9a92b17c51b578d958cde6b0c92978f150cf9b0",
  init_data: "0000000000000000000000000000000000000000000000000000000000000000",
  chip_id:
    "371c55d6d15cb50f16dc31d39a24e300caaabff4431e841111429b73ec45ad67ea6e687ffae7bf84b54a5d0e6d79b3ef6ff0bd8b4cff94c2163af5c5de8718e8",
};
