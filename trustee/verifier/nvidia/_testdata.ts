/** Test helpers: the upstream NVIDIA vectors in `testdata/` (see README.md for their origin). */
import type { JsonValue } from "@coco/lib/json";

const dir = new URL("./testdata/", import.meta.url);

/** Reads a vector as text. */
export function vector(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, dir));
}

/** Expected report data of the CoCo CI Hopper vector (48 bytes; the nonce is its first 32). */
export const COCO_REPORT_DATA = Uint8Array.fromHex(
  "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250",
);
/** Nonce of the nvtrust/Trustee Hopper vector. */
export const HOPPER_NONCE = Uint8Array.fromHex(
  "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
);
/** FWID in the Hopper vector's signing certificate and report. */
export const HOPPER_FWID =
  "f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d";

/** Evidence JSON as the guest sends it, for one device. */
export function evidenceOf(
  report: string,
  certPem: string,
  extra: { arch?: string; uuid?: string } = {},
): JsonValue {
  return {
    device_evidence_list: [{
      arch: extra.arch ?? "HOPPER",
      ...(extra.uuid !== undefined ? { uuid: extra.uuid } : {}),
      evidence: report,
      certificate: new TextEncoder().encode(certPem).toBase64(),
    }],
  };
}

/** Hex of `report` with byte `at` XOR-ed with 0x01. */
export function flipHex(reportHex: string, at: number): string {
  const b = Uint8Array.fromHex(reportHex.trim());
  b[at] = b[at]! ^ 1;
  return b.toHex();
}
