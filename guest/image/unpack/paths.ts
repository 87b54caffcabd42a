/**
 * Entry paths: lexical normalisation and the OCI whiteout naming rules. No filesystem access;
 * the resolver checks the components on disk.
 *
 * Decisions: a leading `/` is stripped (as GNU tar does), so `/etc/passwd` means
 * `<target>/etc/passwd`; empty and `.` components are dropped; any `..` component is refused,
 * even one that would stay inside (`a/../b`).
 *
 * @module
 */
import { UnpackError } from "./errors.ts";

/** Where an entry lands, relative to the target directory. */
export type EntryTarget =
  /** `.`, `./` or `/`: the target directory itself. */
  | { kind: "root" }
  /** An ordinary path: its components. */
  | { kind: "path"; parts: string[] }
  /** `.wh.<name>`: delete (merged) or mask (layer) `<name>` in `parent`. */
  | { kind: "whiteout"; parent: string[]; name: string }
  /** `.wh..wh..opq`: hide everything lower layers put in `dir`. */
  | { kind: "opaque"; dir: string[] };

/** Prefix of an OCI whiteout file name. */
export const WHITEOUT_PREFIX = ".wh.";
/** Name of the OCI opaque-directory marker. */
export const OPAQUE_MARKER = ".wh..wh..opq";

const encoder = new TextEncoder();
/** Longest file name component the kernel accepts (NAME_MAX). */
const NAME_MAX = 255;

/**
 * Splits `path` into safe components. Throws `unsafe_path` on `..`, `bad_name` on NUL or an
 * over-long component. `entry` names the archive member in errors.
 */
export function normalize(path: string, entry: string): string[] {
  if (path.includes("\0")) {
    throw new UnpackError("bad_name", entry.replaceAll("\0", "\\0"), "the path holds a NUL byte");
  }
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new UnpackError("unsafe_path", entry, 'the path has a ".." component');
    }
    if (part.length > NAME_MAX / 3 && encoder.encode(part).length > NAME_MAX) {
      throw new UnpackError("bad_name", entry, `a path component exceeds ${NAME_MAX} bytes`);
    }
    parts.push(part);
  }
  return parts;
}

/** Classifies an entry path: root, ordinary path, whiteout or opaque marker. */
export function classify(path: string): EntryTarget {
  const parts = normalize(path, path);
  if (parts.length === 0) return { kind: "root" };
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) && parts[i] !== OPAQUE_MARKER) {
      throw new UnpackError(
        "unsupported_entry",
        path,
        "aufs metadata (.wh..wh.*) is not supported",
      );
    }
    if (i < parts.length - 1 && parts[i]!.startsWith(WHITEOUT_PREFIX)) {
      throw new UnpackError(
        "bad_whiteout",
        path,
        `the path goes through a whiteout name (${JSON.stringify(parts[i])})`,
      );
    }
  }
  const last = parts[parts.length - 1]!;
  if (!last.startsWith(WHITEOUT_PREFIX)) return { kind: "path", parts };
  const parent = parts.slice(0, -1);
  if (last === OPAQUE_MARKER) return { kind: "opaque", dir: parent };
  const name = last.slice(WHITEOUT_PREFIX.length);
  if (name === "" || name === "." || name === "..") {
    throw new UnpackError("bad_whiteout", path, `the whiteout names ${JSON.stringify(name)}`);
  }
  return { kind: "whiteout", parent, name };
}
