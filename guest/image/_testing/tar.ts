/**
 * Test support: a minimal ustar writer for building layer tarballs in tests and benches (regular
 * files, directories, symlinks, hard links), with streaming output for large files.
 *
 * @module
 */

/** One tar member. */
export interface TarFile {
  path: string;
  type?: "file" | "dir" | "symlink" | "link";
  data?: Uint8Array;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const enc = new TextEncoder();

function octal(buf: Uint8Array, off: number, len: number, value: number) {
  buf.set(enc.encode(value.toString(8).padStart(len - 1, "0") + "\0"), off);
}

/** A 512-byte ustar header. */
export function tarHeader(f: TarFile, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const name = enc.encode(f.path);
  if (name.length > 100) throw new Error(`test tar: path too long: ${f.path}`);
  h.set(name, 0);
  const type = f.type ?? "file";
  octal(h, 100, 8, f.mode ?? (type === "dir" ? 0o755 : 0o644));
  octal(h, 108, 8, f.uid ?? 0);
  octal(h, 116, 8, f.gid ?? 0);
  octal(h, 124, 12, type === "file" ? size : 0);
  octal(h, 136, 12, 1_700_000_000);
  h[156] = { file: 48, link: 49, symlink: 50, dir: 53 }[type];
  if (f.linkname) h.set(enc.encode(f.linkname), 157);
  h.set(enc.encode("ustar\0" + "00"), 257);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

/** A whole tar archive in memory (for small layers). */
export function tar(files: TarFile[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const data = f.data ?? new Uint8Array(0);
    parts.push(tarHeader(f, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Whole-buffer helper: concatenates chunks. */
export async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}
