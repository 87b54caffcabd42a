/**
 * The SEV-SNP extended-report certificate table (GHCB spec §4.1.8.1), as returned by the host in
 * `/dev/sev-guest` extended reports and by configfs-tsm `auxblob`: 24-byte entries
 * `{GUID (16, RFC 4122 byte order), offset u32 LE, length u32 LE}` ended by an all-zero entry,
 * followed by the certificates. Entries map to the sev crate's `CertType` names.
 */
import { SnpFormatError } from "./errors.ts";

/** Certificate type names of the sev crate's serde shape. */
export type SnpCertType = "ARK" | "ASK" | "VCEK" | "VLEK" | "CRL" | "Empty" | { OTHER: string };

/** One certificate-table entry: type and DER (or PEM) bytes. */
export interface SnpCertEntry {
  cert_type: SnpCertType;
  data: Uint8Array;
}

/** Well-known table GUIDs. */
export const SNP_CERT_GUIDS: Readonly<Record<"ARK" | "ASK" | "VCEK" | "VLEK" | "CRL", string>> = {
  ARK: "c0b406a4-a803-4952-9743-3fb6014cd0ae",
  ASK: "4ab7b379-bbac-4fe4-a02f-05aef327c782",
  VCEK: "63da758d-e664-4564-adc5-f4b93be8accd",
  VLEK: "a8074bc2-a25a-483e-aae6-39c045a0b8a1",
  CRL: "92f81bc3-5811-4d3d-97ff-d19f88dc67ea",
};

const ENTRY = 24;
const guidText = (b: Uint8Array) => {
  const h = b.toHex();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Cert type for a GUID string (lowercase), `{OTHER}` when unknown. */
export function certTypeOfGuid(guid: string): SnpCertType {
  for (const [name, g] of Object.entries(SNP_CERT_GUIDS)) {
    if (g === guid) return name as keyof typeof SNP_CERT_GUIDS;
  }
  return { OTHER: guid };
}

/** GUID for a cert type. */
export function guidOfCertType(type: SnpCertType): string {
  if (typeof type === "object") return type.OTHER;
  if (type === "Empty") return "00000000-0000-0000-0000-000000000000";
  return SNP_CERT_GUIDS[type];
}

function bad(message: string): never {
  throw new SnpFormatError("invalid-cert-table", `Cannot parse SNP certificate table: ${message}`);
}

/** Parses a certificate table. An empty buffer gives an empty list. */
export function parseSnpCertTable(bytes: Uint8Array): SnpCertEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SnpCertEntry[] = [];
  if (bytes.length === 0) return out;
  for (let pos = 0;; pos += ENTRY) {
    if (pos + ENTRY > bytes.length) bad(`entry ${out.length} runs past the end (no terminator)`);
    const guid = bytes.subarray(pos, pos + 16);
    const offset = dv.getUint32(pos + 16, true);
    const length = dv.getUint32(pos + 20, true);
    if (guid.every((b) => b === 0) && offset === 0 && length === 0) return out;
    if (offset + length > bytes.length) {
      bad(
        `entry ${out.length} (offset ${offset}, length ${length}) is outside ${bytes.length} bytes`,
      );
    }
    out.push({
      cert_type: certTypeOfGuid(guidText(guid)),
      data: bytes.slice(offset, offset + length),
    });
  }
}

/** Encodes a certificate table (entries, terminator, then the certificates in order). */
export function encodeSnpCertTable(entries: readonly SnpCertEntry[]): Uint8Array {
  const header = (entries.length + 1) * ENTRY;
  const total = entries.reduce((n, e) => n + e.data.length, header);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let offset = header;
  entries.forEach((e, i) => {
    out.set(Uint8Array.fromHex(guidOfCertType(e.cert_type).replaceAll("-", "")), i * ENTRY);
    dv.setUint32(i * ENTRY + 16, offset, true);
    dv.setUint32(i * ENTRY + 20, e.data.length, true);
    out.set(e.data, offset);
    offset += e.data.length;
  });
  return out;
}
