/**
 * UEFI device path text for `EV_EFI_BOOT_SERVICES_APPLICATION` events, in Trustee's formats:
 * `ACPI(PNP0A03,0)`, `Pci(f,d)`, `HD(n,GPT,<GUID>,0x…,0x…)`, `VenMedia(<GUID>,<hex>)`,
 * `File(\EFI\BOOT\BOOTX64.EFI)`; every other node (and any node that fails to parse) is printed
 * as `Path(type,subtype,hex)`.
 */

/** A UEFI GUID in its canonical mixed-endian text (upper case). */
export function formatUefiGuid(b: Uint8Array): string {
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  const h = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, "0");
  const tail = Array.from(b.subarray(8, 16), (x) => h(x, 2));
  return `${h(dv.getUint32(0, true), 8)}-${h(dv.getUint16(4, true), 4)}-${
    h(dv.getUint16(6, true), 4)
  }-${tail.slice(0, 2).join("")}-${tail.slice(2).join("")}`;
}

function utf16(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) words.push(b[i]! | (b[i + 1]! << 8));
  return String.fromCharCode(...words).toWellFormed();
}

function acpi(d: Uint8Array): string | undefined {
  if (d.length < 8) return undefined;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const hid = dv.getUint32(0, true);
  const uid = dv.getUint32(4, true);
  const v = hid & 0xffff;
  const ch = (n: number) => String.fromCharCode((n & 0x1f) + 0x40);
  const dev = (hid >>> 16).toString(16).toUpperCase().padStart(4, "0");
  return `ACPI(${ch(v >> 10)}${ch(v >> 5)}${ch(v)}${dev},${uid})`;
}

function hardDrive(d: Uint8Array): string | undefined {
  if (d.length < 37) return undefined;
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const num = dv.getUint32(0, true);
  const start = dv.getBigUint64(4, true);
  const size = dv.getBigUint64(12, true);
  const sig = d.subarray(20, 36);
  let text: string;
  if (d[36] === 1) {
    text = `MBR,0x${dv.getUint32(20, true).toString(16).padStart(8, "0")}`;
  } else if (d[36] === 2) text = `GPT,${formatUefiGuid(sig)}`;
  else return undefined;
  const extra = num !== 0 ? `,0x${start.toString(16)},0x${size.toString(16)}` : "";
  return `HD(${num},${text}${extra})`;
}

function node(type: number, sub: number, d: Uint8Array): string | undefined {
  if (type === 1 && sub === 1) return d.length < 2 ? undefined : `Pci(${d[0]},${d[1]})`;
  if (type === 2 && sub === 1) return acpi(d);
  if (type === 4 && sub === 1) return hardDrive(d);
  if (type === 4 && sub === 3) {
    return d.length < 16
      ? undefined
      : `VenMedia(${formatUefiGuid(d.subarray(0, 16))},${d.subarray(16).toHex()})`;
  }
  if (type === 4 && sub === 4) {
    return d.length === 0 || d.length % 2
      ? undefined
      : `File(${utf16(d.subarray(0, d.length - 2))})`;
  }
  return undefined;
}

/**
 * Formats the nodes of a device path (without its end node) one string per node.
 *
 * @throws {RangeError} when a node's length runs past the data.
 */
export function formatDevicePath(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 4 > bytes.length) throw new RangeError("device path node header is truncated");
    const type = bytes[off]!;
    const sub = bytes[off + 1]!;
    const len = bytes[off + 2]! | (bytes[off + 3]! << 8);
    if (len < 4 || off + len > bytes.length) {
      throw new RangeError(`device path node of length ${len} runs past the data`);
    }
    const d = bytes.subarray(off + 4, off + len);
    out.push(node(type, sub, d) ?? `Path(${type},${sub},${d.toHex()})`);
    off += len;
  }
  return out;
}
