/**
 * Resolving the image's `User` (`name`, `uid`, `name:group`, `uid:gid` …) to numeric ids with the
 * image's own /etc/passwd and /etc/group, as containerd's `WithUser` and `WithAdditionalGIDs` do.
 *
 * @module
 */
import { ImageError } from "../errors.ts";

/** The OCI runtime `process.user`. */
export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 0xfffffffe;

function id(s: string): number | undefined {
  if (!/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

/** Parses /etc/passwd text; malformed lines are skipped, as libc does. */
export function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    const uid = id(f[2] ?? "");
    const gid = id(f[3] ?? "");
    return f.length >= 4 && f[0] && uid !== undefined && gid !== undefined
      ? [{ name: f[0], uid, gid }]
      : [];
  });
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    const gid = id(f[2] ?? "");
    if (f.length < 3 || !f[0] || gid === undefined) return [];
    return [{ name: f[0], gid, members: (f[3] ?? "").split(",").filter(Boolean) }];
  });
}

/**
 * Resolves `user` (image `Config.User`) against the image's passwd and group files (undefined
 * when the image has none). Throws `bundle_failed` naming a user or group that does not exist.
 */
export function resolveUser(
  user: string | undefined,
  passwdText: string | undefined,
  groupText: string | undefined,
): ProcessUser {
  const passwd = parsePasswd(passwdText ?? "");
  const groups = parseGroup(groupText ?? "");
  const spec = (user ?? "").trim();
  const [u = "", g] = spec.split(":", 2) as [string?, string?];
  let uid = 0;
  let gid = 0;
  let name: string | undefined;
  if (u === "") {
    name = passwd.find((p) => p.uid === 0)?.name;
  } else if (id(u) !== undefined) {
    uid = id(u)!;
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else {
    const entry = passwd.find((p) => p.name === u);
    if (!entry) {
      throw new ImageError("bundle_failed", `Image user "${u}" is not in the image's /etc/passwd`);
    }
    [uid, gid, name] = [entry.uid, entry.gid, entry.name];
  }
  if (g !== undefined && g !== "") {
    if (id(g) !== undefined) gid = id(g)!;
    else {
      const entry = groups.find((x) => x.name === g);
      if (!entry) {
        throw new ImageError(
          "bundle_failed",
          `Image group "${g}" is not in the image's /etc/group`,
        );
      }
      gid = entry.gid;
    }
  }
  const out: ProcessUser = { uid, gid };
  if (name !== undefined && (g === undefined || g === "")) {
    const extra = [...new Set(groups.filter((x) => x.members.includes(name!)).map((x) => x.gid))]
      .filter((x) => x !== gid);
    if (extra.length) out.additionalGids = extra;
  }
  return out;
}
