/**
 * A streaming tar reader: ustar, GNU (`L` long names, `K` long link names, base-256 numbers) and
 * PAX (`x` per-entry and `g` global headers). It never holds more than one header's worth of
 * metadata: entry contents are handed out as views of the incoming chunks. Extension records
 * are bounded by {@link TarLimits}; anything ambiguous is refused rather than guessed.
 *
 * @module
 */
import type { ChunkReader } from "./_chunks.ts";
import { UnpackError } from "./errors.ts";
import {
  decodeUtf8,
  parsePaxRecords,
  type PaxRecords,
  PER_ENTRY_KEYS,
  readPax,
  type TarTime,
} from "./pax.ts";
import { BLOCK, isZeroBlock, parseHeader, type RawHeader } from "./tar_header.ts";

/** Kinds of entry the reader returns. */
export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One archive member with every extension applied. */
export interface TarEntry {
  /** The path as written (PAX `path` > GNU `L` > ustar prefix/name); not yet normalised. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content length (0 for every type but `file`). */
  size: number;
  mtime: TarTime;
  atime: TarTime | undefined;
  /** Symlink or hard-link target. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.*` attributes. */
  xattrs: Map<string, Uint8Array>;
}

/** Bounds on metadata records, so a hostile archive cannot make the reader buffer much. */
export interface TarLimits {
  /** Largest PAX `x`/`g` header body, and total size of retained global records. */
  maxPaxBytes: number;
  /** Largest path or link name in bytes (PATH_MAX). */
  maxPathBytes: number;
}

/** Default {@link TarLimits}: 1 MiB of PAX records, 4096-byte names. */
export const DEFAULT_LIMITS: TarLimits = { maxPaxBytes: 1 << 20, maxPathBytes: 4096 };

const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

/** Extension records read so far for the next entry. */
interface Pending {
  local?: PaxRecords;
  longName?: Uint8Array;
  longLink?: Uint8Array;
}

/** Type flags of extension headers (`x`, `g`, `L`, `K`) as bytes. */
const EXTENSION_FLAGS = new Set([0x78, 0x67, 0x4c, 0x4b]);
const NO_PENDING: Readonly<Pending> = Object.freeze({});

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** Reads entries one at a time; call {@link body} before the next {@link next} to get data. */
export class TarReader {
  #in: ChunkReader;
  #limits: TarLimits;
  #global: PaxRecords = new Map();
  #globalBytes = 0;
  /** Unread content bytes of the current entry, then its padding. */
  #left = 0;
  #pad = 0;
  #ended = false;

  constructor(input: ChunkReader, limits: TarLimits = DEFAULT_LIMITS) {
    this.#in = input;
    this.#limits = limits;
  }

  /**
   * The next entry, without waiting, when its header is already buffered and is an ordinary
   * one (no extension records before it, not the end-of-archive marker). `undefined` when
   * {@link next} must be called instead; then nothing of the header has been consumed.
   */
  nextBuffered(): TarEntry | undefined {
    if (this.#ended) return undefined;
    const skip = this.#left + this.#pad;
    const block = this.#in.peekBuffered(skip, BLOCK);
    // Extension headers, and a possible zero block, take the general path.
    if (block === null || block[0] === 0 || EXTENSION_FLAGS.has(block[156]!)) return undefined;
    this.#in.skipBuffered(skip + BLOCK);
    this.#left = this.#pad = 0;
    return this.#entry(parseHeader(block), NO_PENDING);
  }

  /** The next entry, or `null` after the end-of-archive marker. */
  async next(): Promise<TarEntry | null> {
    if (this.#ended) return null;
    const rest = this.#in.skipBuffered(this.#left + this.#pad);
    if (rest > 0) await this.#in.skip(rest, "an entry's contents");
    this.#left = this.#pad = 0;
    const pending: Pending = {};
    for (;;) {
      // Most headers sit whole in the current chunk: no wait for them.
      let block = this.#in.readBuffered(BLOCK);
      if (block === null || block.length < BLOCK) {
        block = await this.#in.readExact(BLOCK, "a tar header", block);
      }
      if (block === null) {
        throw new UnpackError(
          "truncated",
          undefined,
          "the archive ends without its end-of-archive marker",
        );
      }
      if (isZeroBlock(block)) {
        if (pending.local || pending.longName || pending.longLink) {
          throw new UnpackError("bad_header", undefined, "an extension header has no entry");
        }
        await this.#finish();
        return null;
      }
      const h = parseHeader(block);
      if (!(await this.#extension(h, pending))) return this.#entry(h, pending);
    }
  }

  /** Reads an extension header (`x`, `g`, `L`, `K`) into `p`; false for an ordinary entry. */
  async #extension(h: RawHeader, p: Pending): Promise<boolean> {
    const twice = (what: string) =>
      new UnpackError("bad_header", undefined, `two ${what} headers in a row`);
    const { maxPaxBytes, maxPathBytes } = this.#limits;
    switch (h.typeflag) {
      case "x":
        if (p.local) throw twice("PAX");
        p.local = parsePaxRecords(await this.#meta(h, maxPaxBytes, "PAX header"));
        return true;
      case "g":
        this.#addGlobal(
          parsePaxRecords(await this.#meta(h, maxPaxBytes, "PAX global header")),
          h.size,
        );
        return true;
      case "L":
        if (p.longName) throw twice("GNU long name");
        p.longName = gnuName(await this.#meta(h, maxPathBytes + 1, "GNU long name"));
        return true;
      case "K":
        if (p.longLink) throw twice("GNU long link");
        p.longLink = gnuName(await this.#meta(h, maxPathBytes + 1, "GNU long link"));
        return true;
      default:
        return false;
    }
  }

  /**
   * Hands the current entry's contents to `sink`, chunk by chunk (views of the stream's chunks,
   * valid only during the call). Returns `undefined` when everything was already buffered (no
   * wait), else a promise for the rest.
   */
  copyBody(sink: (chunk: Uint8Array) => void): Promise<void> | undefined {
    while (this.#left > 0) {
      const chunk = this.#in.readBuffered(this.#left);
      if (chunk === null) return this.#copyRest(sink);
      this.#left -= chunk.length;
      sink(chunk);
    }
    return undefined;
  }

  async #copyRest(sink: (chunk: Uint8Array) => void): Promise<void> {
    while (this.#left > 0) {
      const chunk = await this.#in.read(this.#left);
      if (chunk === null) {
        throw new UnpackError("truncated", undefined, "the stream ends inside an entry's contents");
      }
      this.#left -= chunk.length;
      sink(chunk);
    }
  }

  /** The current entry's contents, as views of the stream's chunks. */
  async *body(): AsyncGenerator<Uint8Array> {
    while (this.#left > 0) {
      const chunk = await this.#in.read(this.#left);
      if (chunk === null) {
        throw new UnpackError("truncated", undefined, "the stream ends inside an entry's contents");
      }
      this.#left -= chunk.length;
      yield chunk;
    }
  }

  /** Reads a bounded extension record body (and its padding). */
  async #meta(h: RawHeader, limit: number, what: string): Promise<Uint8Array> {
    if (h.size > limit) {
      throw new UnpackError(
        "header_too_large",
        undefined,
        `${what} of ${h.size} bytes exceeds the limit of ${limit}`,
      );
    }
    const view = h.size === 0 ? new Uint8Array(0) : await this.#in.readExact(h.size, `a ${what}`);
    if (view === null) {
      throw new UnpackError("truncated", undefined, `the stream ends inside a ${what}`);
    }
    // A copy: the view ends with its chunk, and the records outlive it.
    const body = view.slice();
    await this.#in.skip(padding(h.size), `a ${what}`);
    return body;
  }

  #addGlobal(records: PaxRecords, size: number): void {
    for (const key of PER_ENTRY_KEYS) {
      if (records.has(key)) {
        throw new UnpackError("bad_header", undefined, `a PAX global header sets "${key}"`);
      }
    }
    this.#globalBytes += size;
    if (this.#globalBytes > this.#limits.maxPaxBytes) {
      throw new UnpackError(
        "header_too_large",
        undefined,
        `PAX global headers exceed the limit of ${this.#limits.maxPaxBytes} bytes`,
      );
    }
    for (const [k, v] of records) {
      if (v.length === 0) this.#global.delete(k);
      else this.#global.set(k, v);
    }
  }

  #entry(h: RawHeader, { local, longName, longLink }: Pending): TarEntry {
    const pax = readPax(local ? new Map([...this.#global, ...local]) : this.#global);
    const path = pax.path ?? decodeUtf8(longName ?? h.name, "an entry name");
    const linkname = pax.linkpath ?? decodeUtf8(longLink ?? h.linkname, `the link name of ${path}`);
    for (const [what, s] of [["path", path], ["link name", linkname]] as const) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: most names need no encoding to check.
      const max = this.#limits.maxPathBytes;
      if (s.length * 3 > max && new TextEncoder().encode(s).length > max) {
        throw new UnpackError(
          "bad_name",
          path,
          `${what} exceeds ${this.#limits.maxPathBytes} bytes`,
        );
      }
    }
    let type = TYPES[h.typeflag];
    if (type === undefined) {
      throw new UnpackError(
        "unsupported_entry",
        path,
        `tar entry type ${JSON.stringify(h.typeflag)} is not supported`,
      );
    }
    if (h.typeflag === "\0" && path.endsWith("/")) type = "dir";
    const size = pax.size ?? h.size;
    if (type !== "file" && size !== 0) {
      throw new UnpackError(
        "bad_header",
        path,
        `a ${type} entry declares ${size} bytes of contents`,
      );
    }
    this.#left = size;
    this.#pad = padding(size);
    return {
      path,
      type,
      mode: h.mode & 0o7777,
      uid: pax.uid ?? h.uid,
      gid: pax.gid ?? h.gid,
      size,
      mtime: pax.mtime ?? { sec: h.mtime, nsec: 0 },
      atime: pax.atime,
      linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: pax.xattrs,
    };
  }

  /**
   * After the first zero block: the second must be zero too (or the stream may end), then the
   * rest of the stream (record padding) is read and ignored.
   */
  async #finish(): Promise<void> {
    this.#ended = true;
    const second = await this.#in.readExact(BLOCK, "the end-of-archive marker");
    if (second !== null && !isZeroBlock(second)) {
      throw new UnpackError("bad_header", undefined, "a lone zero block inside the archive");
    }
    await this.#in.drain();
  }
}

/** A GNU long name/link body: NUL-terminated; an embedded NUL is refused. */
function gnuName(b: Uint8Array): Uint8Array {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  const name = b.subarray(0, end);
  if (name.includes(0)) {
    throw new UnpackError("bad_name", undefined, "a GNU long name holds a NUL byte");
  }
  return name;
}
