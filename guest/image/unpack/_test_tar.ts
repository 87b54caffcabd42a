/**
 * Test helper: builds tar archives byte by byte (ustar headers, PAX `x`/`g` records, GNU `L`/`K`
 * long names), including deliberately broken ones, and turns bytes into streams.
 *
 * @module
 */

/** One member of a crafted archive. */
export interface TarSpec {
  name: string;
  /** Type flag character (default `"0"`, or `"5"` when the name ends with `/`). */
  type?: string;
  data?: Uint8Array | string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Size field override (for lying headers); the data is still written as given. */
  size?: number;
  /** PAX records written in an `x` header before this member. */
  pax?: Record<string, string | Uint8Array>;
  /** Write the name (and link name) as GNU `L`/`K` records. */
  gnuLong?: boolean;
  /** Change the header block after the checksum was computed. */
  corrupt?: (block: Uint8Array) => void;
}

const enc = new TextEncoder();
const bytes = (v: Uint8Array | string) => (typeof v === "string" ? enc.encode(v) : v);

function octal(b: Uint8Array, off: number, len: number, v: number): void {
  b.set(enc.encode(v.toString(8).padStart(len - 1, "0")), off);
}

/** A ustar header block with a valid checksum. */
export function header(f: {
  name: string | Uint8Array;
  type: string;
  size: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string | Uint8Array;
  devmajor?: number;
  devminor?: number;
}): Uint8Array {
  const b = new Uint8Array(512);
  b.set(bytes(f.name).subarray(0, 100), 0);
  octal(b, 100, 8, f.mode ?? 0o644);
  octal(b, 108, 8, f.uid ?? 0);
  octal(b, 116, 8, f.gid ?? 0);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime ?? 1_600_000_000);
  b[156] = f.type.charCodeAt(0);
  b.set(bytes(f.linkname ?? "").subarray(0, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  octal(b, 329, 8, f.devmajor ?? 0);
  octal(b, 337, 8, f.devminor ?? 0);
  setChecksum(b);
  return b;
}

/** Recomputes the checksum field of a header block. */
export function setChecksum(b: Uint8Array): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

/** PAX record bodies, each `"<len> key=value\n"` with the length counting itself. */
export function paxBody(records: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(records)) {
    const kv = concat([enc.encode(` ${k}=`), bytes(v), enc.encode("\n")]);
    let len = kv.length + 1;
    while (String(len).length + kv.length !== len) len = String(len).length + kv.length;
    parts.push(concat([enc.encode(String(len)), kv]));
  }
  return concat(parts);
}

/** Joins byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const pad = (n: number) => new Uint8Array((512 - (n % 512)) % 512);

/** A member with its contents and padding. */
function member(h: Uint8Array, data: Uint8Array): Uint8Array[] {
  return [h, data, pad(data.length)];
}

/** An archive of `specs`, ending with two zero blocks unless `end` is false. */
export function tar(
  specs: TarSpec[],
  opts: { end?: boolean; global?: Record<string, string> } = {},
) {
  const out: Uint8Array[] = [];
  if (opts.global) {
    const body = paxBody(opts.global);
    out.push(...member(header({ name: "pax_global_header", type: "g", size: body.length }), body));
  }
  for (const s of specs) {
    const data = bytes(s.data ?? "");
    if (s.pax) {
      const body = paxBody(s.pax);
      out.push(...member(header({ name: "PaxHeader", type: "x", size: body.length }), body));
    }
    if (s.gnuLong) {
      const n = enc.encode(s.name + "\0");
      out.push(...member(header({ name: "././@LongLink", type: "L", size: n.length }), n));
      if (s.linkname) {
        const l = enc.encode(s.linkname + "\0");
        out.push(...member(header({ name: "././@LongLink", type: "K", size: l.length }), l));
      }
    }
    const h = header({
      name: s.gnuLong ? s.name.slice(0, 99) : s.name,
      type: s.type ?? (s.name.endsWith("/") ? "5" : "0"),
      size: s.size ?? data.length,
      mode: s.mode ?? (s.name.endsWith("/") ? 0o755 : 0o644),
      ...(s.uid !== undefined ? { uid: s.uid } : {}),
      ...(s.gid !== undefined ? { gid: s.gid } : {}),
      ...(s.mtime !== undefined ? { mtime: s.mtime } : {}),
      linkname: s.gnuLong ? (s.linkname ?? "").slice(0, 99) : s.linkname ?? "",
      ...(s.devmajor !== undefined ? { devmajor: s.devmajor } : {}),
      ...(s.devminor !== undefined ? { devminor: s.devminor } : {}),
    });
    s.corrupt?.(h);
    out.push(...member(h, data));
  }
  if (opts.end !== false) out.push(new Uint8Array(1024));
  return concat(out);
}

/** A stream yielding `b` in chunks of `chunk` bytes (default: one chunk). */
export function streamOf(b: Uint8Array, chunk = b.length || 1): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= b.length) return c.close();
      c.enqueue(b.slice(off, off + chunk));
      off += chunk;
    },
  });
}
