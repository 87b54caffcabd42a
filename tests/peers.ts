/**
 * Finding real third-party peers (containerd, QEMU, registry, skopeo, swtpm, PostgreSQL, Redis …)
 * for tests. A test that cannot get its peer is registered as ignored and prints one
 * `SKIPPED <test>: <reason>` line, so it is counted as skipped and never passes silently.
 * `scripts/install_peers.ts` installs them from Debian packages when it can.
 *
 * @example
 * ```ts
 * const peers = findPeers("skopeo", "docker-registry");
 * Deno.test({ name: "pull from a real registry", ...skipUnless(peers, "pull"), fn: async () => {
 *   const skopeo = peers.paths["skopeo"]!;
 * } });
 * ```
 *
 * @module
 */

const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
// Debian ships PostgreSQL's server binaries outside PATH.
const POSTGRES_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"];

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Absolute path of executable `bin`, or undefined when it is not installed. */
export function which(bin: string): string | undefined {
  if (bin.includes("/")) return isExecutable(bin) ? bin : undefined;
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...EXTRA_DIRS];
  if (["postgres", "initdb", "pg_ctl"].includes(bin)) dirs.unshift(...POSTGRES_DIRS);
  for (const dir of dirs) {
    const p = `${dir}/${bin}`;
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Result of looking for a set of peers. */
export interface Peers {
  /** Every peer was found. */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason: string;
  /** Absolute path of each peer that was found. */
  paths: Record<string, string>;
}

/** Looks up each executable; `reason` names the missing ones. */
export function findPeers(...bins: string[]): Peers {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const b of bins) {
    const p = which(b);
    if (p) paths[b] = p;
    else missing.push(b);
  }
  return {
    ok: missing.length === 0,
    reason: missing.length ? `not installed: ${missing.join(", ")} (scripts/install_peers.ts)` : "",
    paths,
  };
}

/** Combines a peer lookup with an extra condition (root, a device, …). */
export function requireAlso(peers: Peers, ok: boolean, reason: string): Peers {
  if (!peers.ok || ok) return peers;
  return { ...peers, ok: false, reason };
}

/** True when running as root (needed for mounts, runc, containerd). */
export function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

/**
 * Spread into `Deno.test({...})`: ignores the test when a peer is missing and prints the reason
 * once, so the runner reports it as skipped.
 */
export function skipUnless(peers: Peers, testName: string): { ignore: boolean } {
  if (!peers.ok) console.log(`SKIPPED ${testName}: ${peers.reason}`);
  return { ignore: !peers.ok };
}
