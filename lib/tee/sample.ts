/**
 * The sample TEE attester (development only): evidence `{"svn":"1","report_data":"<std b64>"}`
 * with the report data as given (no padding). `sampledevice` is the same with svn 2.
 */
import type { JsonValue } from "../json/mod.ts";

/** Evidence of the sample CPU TEE. */
export function sampleEvidence(reportData: Uint8Array): JsonValue {
  return { svn: "1", report_data: reportData.toBase64() };
}

/** Evidence of the sample device. */
export function sampleDeviceEvidence(reportData: Uint8Array): JsonValue {
  return { svn: "2", report_data: reportData.toBase64() };
}
