/**
 * Azure confidential-VM detection as upstream (`is_snp_cvm` / `is_tdx_cvm` of az-cvm-vtpm):
 * read the HCL report from vTPM NV index 0x01400001; it exists only on Azure CVMs, and its IGVM
 * report type says SNP (2) or TDX (4). Any failure (no TPM, no index, unparsable report) means
 * "not an Azure CVM".
 */
import { TpmClient, type TpmTarget } from "@coco/lib/tee/tpm";
import { readHclReport } from "./az_vtpm.ts";

/** The hardware report type of the vTPM's HCL report, or undefined when there is none. */
export async function azureHclType(target: TpmTarget): Promise<"snp" | "tdx" | undefined> {
  let tpm: TpmClient;
  try {
    tpm = await TpmClient.open(target);
  } catch {
    return undefined;
  }
  try {
    return (await readHclReport(tpm)).hcl.reportType;
  } catch {
    return undefined;
  } finally {
    tpm.close();
  }
}
