/**
 * Test doubles for the Azure vTPM attesters (not exported by mod.ts): an HCL report builder and
 * an in-memory vTPM with Azure's NV indices, an RSA AK at 0x81000003 that really signs its
 * quotes, and an optional "paravisor" that regenerates the HCL report when user data is written
 * to NV index 0x01400002 (what Azure's paravisor does on a real CVM).
 */
import {
  akTemplate,
  AZURE_AK_HANDLE,
  HCL_REPORT_NV_INDEX,
  HCL_USER_DATA_NV_INDEX,
  type LoadedKey,
  marshalTpmSignature,
  pcrDigest,
  type PcrSelection,
  type QuoteResult,
  TPM_ALG,
  TPM_RH,
  TPMA_NV,
  TPMA_OBJECT,
  type TpmClient,
  TpmError,
  tpmPublicToJwk,
  TpmWriter,
  writePcrSelection,
} from "@coco/lib/tee/tpm";
import type { UserDataHook, VtpmOps } from "./az_vtpm.ts";

const SNP_REPORT_DATA = 0x50;
const TDX_REPORT_DATA = 128;

/** What goes into a synthetic HCL report. */
export interface HclInput {
  reportType: "snp" | "tdx";
  /** The AK as JWK (`n`, `e` base64url). */
  akJwk: { n: string; e: string };
  /** Written as upper-case hex `user-data`. */
  userData: Uint8Array;
  /** 1184-byte hardware report region (default zeros); its REPORTDATA[0..32] is overwritten. */
  hwReport?: Uint8Array;
}

/**
 * Builds an HCL report: "HCLA" header, the hardware report whose REPORTDATA[0..32] is
 * SHA-256(variable data), the IGVM request data (SHA-256 hash type) and the variable data JSON
 * `{"keys": [HCLAkPub], "vm-configuration", "user-data"}`.
 */
export async function buildHclReport(input: HclInput): Promise<Uint8Array> {
  const varData = new TextEncoder().encode(JSON.stringify({
    keys: [{ kid: "HCLAkPub", key_ops: ["sign"], kty: "RSA", e: input.akJwk.e, n: input.akJwk.n }],
    "vm-configuration": { "secure-boot": true, "tpm-enabled": true, "vmUniqueId": "coco-test" },
    "user-data": input.userData.toHex().toUpperCase(),
  }));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", varData));
  const out = new Uint8Array(32 + 1184 + 20 + varData.length);
  const v = new DataView(out.buffer);
  [0x414c4348, 2, 1184, 2, 0].forEach((x, i) => v.setUint32(i * 4, x, true));
  const hw = out.subarray(32, 32 + 1184);
  if (input.hwReport) hw.set(input.hwReport.subarray(0, 1184));
  hw.set(hash, input.reportType === "snp" ? SNP_REPORT_DATA : TDX_REPORT_DATA);
  const type = input.reportType === "snp" ? 2 : 4;
  [20 + varData.length, 1, type, 1, varData.length].forEach((x, i) =>
    v.setUint32(1216 + i * 4, x, true)
  );
  out.set(varData, 1236);
  return out;
}

/**
 * Provisions a (started) swtpm like an Azure vTPM: an RSA AK from the endorsement hierarchy made
 * persistent at 0x81000003 and NV index 0x01400001 holding an HCL report for zero user data.
 * Returns the AK and the paravisor hook that rewrites the HCL report for new user data.
 */
export async function provisionAzureVtpm(
  tpm: TpmClient,
  reportType: "snp" | "tdx",
  hwReport?: Uint8Array,
): Promise<{ akJwk: { n: string; e: string }; paravisor: UserDataHook }> {
  const ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, akTemplate("rsa"));
  await tpm.evictControl(ak.handle, AZURE_AK_HANDLE);
  await tpm.flushContext(ak.handle);
  const jwk = tpmPublicToJwk(ak.public);
  const akJwk = { n: jwk.n!, e: jwk.e! };
  const build = (userData: Uint8Array) =>
    buildHclReport({ reportType, akJwk, userData, ...(hwReport ? { hwReport } : {}) });
  // The report size does not depend on the user data, so one definition fits every refresh.
  const first = await build(new Uint8Array(64));
  await tpm.nvDefineSpace(HCL_REPORT_NV_INDEX, first.length);
  await tpm.nvWrite(HCL_REPORT_NV_INDEX, first);
  const paravisor: UserDataHook = async (t, userData) => {
    await t.nvWrite(HCL_REPORT_NV_INDEX, await build(userData), TPM_RH.OWNER);
  };
  return { akJwk, paravisor };
}

function rcError(what: string, rc: number): TpmError {
  return new TpmError("tpm-response", `${what} failed: fake rc 0x${rc.toString(16)}`, { rc });
}

/** An in-memory Azure vTPM. */
export class FakeVtpm implements VtpmOps {
  readonly nv = new Map<number, { attributes: number; data: Uint8Array }>();
  readonly pcrs: Uint8Array[] = Array.from({ length: 24 }, () => new Uint8Array(32));
  /** Regenerate the HCL report on a user-data write (Azure's paravisor). */
  paravisor: boolean;
  /** Make the next N quotes fail with this TpmError. */
  quoteError: TpmError | undefined;
  hwReport: Uint8Array | undefined;
  quotes = 0;

  private constructor(
    readonly reportType: "snp" | "tdx",
    readonly keys: CryptoKeyPair,
    readonly akJwk: { n: string; e: string },
    options: { paravisor: boolean },
  ) {
    this.paravisor = options.paravisor;
  }

  /** A vTPM with an AK and an HCL report holding zero user data. */
  static async create(
    reportType: "snp" | "tdx",
    options: { paravisor?: boolean; hwReport?: Uint8Array } = {},
  ): Promise<FakeVtpm> {
    const keys = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", keys.publicKey);
    const tpm = new FakeVtpm(reportType, keys, { n: jwk.n!, e: jwk.e! }, {
      paravisor: options.paravisor ?? true,
    });
    tpm.hwReport = options.hwReport;
    await tpm.refreshHcl(new Uint8Array(64));
    return tpm;
  }

  /** Writes a fresh HCL report for `userData` into NV index 0x01400001. */
  async refreshHcl(userData: Uint8Array): Promise<void> {
    const hcl = await buildHclReport({
      reportType: this.reportType,
      akJwk: this.akJwk,
      userData,
      ...(this.hwReport ? { hwReport: this.hwReport } : {}),
    });
    this.nv.set(HCL_REPORT_NV_INDEX, { attributes: TPMA_NV.OWNERREAD, data: hcl });
  }

  nvReadPublic(index: number): Promise<{ size: number; attributes: number }> {
    const e = this.nv.get(index);
    if (!e) return Promise.reject(rcError("TPM2_NV_ReadPublic", 0x18b));
    return Promise.resolve({ size: e.data.length, attributes: e.attributes });
  }

  nvDefineSpace(index: number, size: number, attributes = 0x20002): Promise<void> {
    if (this.nv.has(index)) return Promise.reject(rcError("TPM2_NV_DefineSpace", 0x14c));
    this.nv.set(index, { attributes, data: new Uint8Array(size) });
    return Promise.resolve();
  }

  nvUndefineSpace(index: number): Promise<void> {
    if (!this.nv.delete(index)) return Promise.reject(rcError("TPM2_NV_UndefineSpace", 0x28b));
    return Promise.resolve();
  }

  async nvWrite(index: number, data: Uint8Array, authHandle: number = TPM_RH.OWNER) {
    const e = this.nv.get(index);
    if (!e) throw rcError("TPM2_NV_Write", 0x28b);
    if (authHandle !== TPM_RH.OWNER || data.length > e.data.length) {
      throw rcError("TPM2_NV_Write", 0x149);
    }
    e.data.set(data);
    if (index === HCL_USER_DATA_NV_INDEX && this.paravisor) await this.refreshHcl(e.data);
  }

  nvRead(index: number, authHandle: number = index): Promise<Uint8Array> {
    const e = this.nv.get(index);
    if (!e) return Promise.reject(rcError("TPM2_NV_ReadPublic", 0x18b));
    if (authHandle !== TPM_RH.OWNER) return Promise.reject(rcError("TPM2_NV_Read", 0x12f));
    return Promise.resolve(e.data.slice());
  }

  readPublic(handle: number): Promise<LoadedKey> {
    if (handle !== AZURE_AK_HANDLE) return Promise.reject(rcError("TPM2_ReadPublic", 0x18b));
    return Promise.resolve({
      handle,
      name: new Uint8Array(34),
      public: {
        type: "rsa",
        nameAlg: TPM_ALG.SHA256,
        attributes: TPMA_OBJECT.sign | TPMA_OBJECT.restricted,
        authPolicy: new Uint8Array(),
        scheme: { alg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256 },
        keyBits: 2048,
        exponent: 0,
        modulus: Uint8Array.fromBase64(this.akJwk.n, { alphabet: "base64url" }),
      },
    });
  }

  async quote(
    keyHandle: number,
    qualifyingData: Uint8Array,
    scheme: { alg: number; hash: number },
    selection: readonly PcrSelection[],
  ): Promise<QuoteResult> {
    this.quotes++;
    if (this.quoteError) throw this.quoteError;
    if (keyHandle !== AZURE_AK_HANDLE) throw rcError("TPM2_Quote", 0x18b);
    if (qualifyingData.length > 64) throw rcError("TPM2_Quote", 0x1d5);
    const w = new TpmWriter().u32(0xff544347).u16(0x8018);
    w.sized(new TpmWriter().u16(TPM_ALG.SHA256).raw(new Uint8Array(32)).bytes());
    w.sized(qualifyingData).u32(0).u32(1000).u32(1).u32(0).u8(1).u32(0).u32(0);
    writePcrSelection(w, selection);
    w.sized(await pcrDigest(TPM_ALG.SHA256, this.pcrs));
    const attest = w.bytes();
    const sig = new Uint8Array(
      await crypto.subtle.sign("RSASSA-PKCS1-v1_5", this.keys.privateKey, attest),
    );
    const signature = { alg: "rsassa" as const, hash: scheme.hash, sig };
    return { attest, signature, signatureBytes: marshalTpmSignature(signature) };
  }

  readAllPcrs(): Promise<Uint8Array[]> {
    return Promise.resolve(this.pcrs.map((p) => p.slice()));
  }
}
