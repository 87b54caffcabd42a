/**
 * Test helper: TPM-shaped quotes signed by a WebCrypto RSA key (no TPM needed), so tests and
 * benches can build evidence with chosen PCRs, nonce, selection and event log.
 */
import { concat } from "@coco/lib/bytes";
import {
  allPcrs,
  marshalTpmSignature,
  pcrDigest,
  type PcrSelection,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TpmWriter,
  writePcrSelection,
} from "@coco/lib/tee/tpm";

/** Builds TPMS_ATTEST bytes of a quote. */
export async function quoteAttest(
  extraData: Uint8Array,
  pcrs: readonly Uint8Array[],
  selection: readonly PcrSelection[] = allPcrs(TPM_ALG.SHA256),
): Promise<Uint8Array<ArrayBuffer>> {
  const w = new TpmWriter().u32(TPM_GENERATED_VALUE).u16(TPM_ST.ATTEST_QUOTE);
  w.sized(new Uint8Array(34).fill(0xaa)).sized(extraData);
  w.u32(0).u32(1234).u32(1).u32(0).u8(1).u32(0).u32(0x20191023);
  writePcrSelection(w, selection);
  w.sized(await pcrDigest(TPM_ALG.SHA256, pcrs));
  return w.bytes();
}

/** An RSA-2048 software "AK". */
export async function softAk(): Promise<{ key: CryptoKeyPair; spki: Uint8Array }> {
  const key = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  return { key, spki: new Uint8Array(await crypto.subtle.exportKey("spki", key.publicKey)) };
}

/** `tpm` evidence signed by `ak` over the given PCRs and nonce. */
export async function softTpmEvidence(
  ak: { key: CryptoKeyPair; spki: Uint8Array },
  nonce: Uint8Array,
  pcrs: readonly Uint8Array[],
  extra: { eventLog?: Uint8Array; selection?: PcrSelection[] } = {},
): Promise<{ ak_public: string; tpm_quote: Record<string, unknown>; event_log?: string }> {
  const message = await quoteAttest(nonce, pcrs, extra.selection);
  const sig = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", ak.key.privateKey, message),
  );
  return {
    ak_public: ak.spki.toBase64(),
    tpm_quote: {
      signature: marshalTpmSignature({ alg: "rsassa", hash: TPM_ALG.SHA256, sig }).toBase64(),
      message: message.toBase64(),
      pcrs: pcrs.map((p) => p.toHex()),
    },
    ...(extra.eventLog ? { event_log: extra.eventLog.toBase64() } : {}),
  };
}

/** A TCG2 log: SHA-1 spec-id event announcing SHA-256, then one event per (pcr, data). */
export async function tcgLog(
  events: readonly { pcr: number; type: number; data: Uint8Array }[],
): Promise<Uint8Array> {
  const le = (n: number, bytes: number) => {
    const b = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) b[i] = (n >>> (8 * i)) & 0xff;
    return b;
  };
  const specId = [
    new TextEncoder().encode("Spec ID Event03\0"),
    le(0, 4),
    new Uint8Array([0, 2, 0, 2]),
    le(1, 4),
    le(TPM_ALG.SHA256, 2),
    le(32, 2),
    new Uint8Array([0]),
  ];
  const specData = concat(...specId);
  const parts: Uint8Array[] = [le(0, 4), le(3, 4), new Uint8Array(20), le(specData.length, 4)];
  parts.push(specData);
  for (const e of events) {
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", e.data as BufferSource));
    parts.push(le(e.pcr, 4), le(e.type, 4), le(1, 4), le(TPM_ALG.SHA256, 2), d);
    parts.push(le(e.data.length, 4), e.data);
  }
  return concat(...parts);
}
