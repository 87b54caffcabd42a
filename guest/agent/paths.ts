/**
 * Guest paths the agent uses (spec/runtime.md §3.1) and the checks that keep host-chosen ids and
 * paths inside them: container ids are plain names, and every host-supplied path must resolve —
 * after `..` and symlinks — under one of the agent's own directories.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { agentError } from "./errors.ts";

/** Directory layout under the container base (`/run/kata-containers` in a guest). */
export class AgentPaths {
  readonly base: string;
  constructor(base: string) {
    this.base = resolve(base);
  }
  /** `<base>/<cid>`: the bundle (config.json, rootfs). */
  bundle(cid: string): string {
    return join(this.base, cid);
  }
  /** `<base>/<cid>/rootfs`. */
  rootfs(cid: string): string {
    return join(this.base, cid, "rootfs");
  }
  /** `<base>/shared/containers`: host share / CopyFile root. */
  get shared(): string {
    return join(this.base, "shared", "containers");
  }
  /** `<base>/sandbox`: shm, sandbox storages, resolv.conf. */
  get sandbox(): string {
    return join(this.base, "sandbox");
  }
  /** Runtime state (`runc --root`). */
  get runtimeState(): string {
    return join(this.base, ".runc");
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks a container or exec id (as upstream `verify_id`): a plain name, no `/` or `..`. */
export function verifyId(id: string, what = "container id"): string {
  if (!ID.test(id) || id.includes("..")) {
    throw agentError(
      "invalid-argument",
      `Invalid ${what} "${id}": expected 1-128 characters [A-Za-z0-9_.-], not starting with . - _`,
    );
  }
  return id;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : `${root}/`);
}

async function realExisting(path: string): Promise<string> {
  let p = path;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = await Deno.realPath(p);
      return tail.length ? join(real, ...tail.reverse()) : real;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      const parent = dirname(p);
      if (parent === p) return path;
      tail.push(p.slice(parent.length + (parent.endsWith("/") ? 0 : 1)));
      p = parent;
    }
  }
}

/**
 * Resolves a host-supplied absolute path and checks it stays inside one of `roots`, following
 * symlinks of the parts that exist. Throws AgentError(invalid-argument) naming `what`.
 */
export async function ensureInside(path: string, roots: string[], what: string): Promise<string> {
  if (!isAbsolute(path)) {
    throw agentError("invalid-argument", `${what} "${path}" must be an absolute path`);
  }
  const lexical = resolve(path);
  const realRoots = await Promise.all(roots.map((r) => realExisting(resolve(r))));
  const real = await realExisting(lexical);
  const ok = roots.some((r, i) => isUnder(lexical, resolve(r)) && isUnder(real, realRoots[i]!));
  if (!ok) {
    throw agentError(
      "invalid-argument",
      `${what} "${path}" is outside the allowed directories (${roots.join(", ")})`,
    );
  }
  return lexical;
}
