/**
 * The guest's built-in pause bundle (spec/runtime.md §2.7, §3.1 `/pause_bundle/`): a CRI sandbox
 * container is never pulled; its rootfs is the bundle's binary copied to
 * `<base>/<cid>/rootfs`, and its OCI process is replaced by the bundle's `config.json` process.
 *
 * The bundle is part of the measured guest image, but it is still parsed strictly: a broken
 * image fails the sandbox with an error naming the bundle, not a runc error later.
 */
import { isAbsolute, join, normalize } from "node:path";
import { agentError } from "../errors.ts";

/** The `process` of an OCI `config.json`, as runc reads it (only the keys we accept). */
export interface PauseProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: Record<string, string[]>;
  noNewPrivileges?: boolean;
}

/** What {@linkcode usePauseBundle} prepared. */
export interface PreparedPause {
  /** `<base>/<cid>/rootfs`, holding a copy of the pause binary. */
  rootfs: string;
  /** The process that replaces the container's (config.json `process`). */
  process: PauseProcess;
}

type Obj = Record<string, unknown>;

function fail(bundle: string, why: string, cause?: unknown): never {
  throw agentError(
    "failed-precondition",
    `Cannot use the guest pause bundle ${bundle}: ${why}`,
    cause,
  );
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === "string");
const isId = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

const CAP_SETS = ["bounding", "effective", "inheritable", "permitted", "ambient"];

function parseCapabilities(v: unknown, bundle: string): Record<string, string[]> {
  if (!isObj(v)) fail(bundle, "process.capabilities is not an object");
  const out: Record<string, string[]> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!CAP_SETS.includes(k) || !isStrings(x)) {
      fail(bundle, `process.capabilities.${k} is not a known set of strings`);
    }
    out[k] = x;
  }
  return out;
}

/**
 * Parses the bundle's `config.json` text into its process: `args` non-empty with an absolute,
 * clean `args[0]`; `cwd` absolute; `user.uid`/`user.gid` numbers; `terminal` false unless set.
 */
export function parsePauseConfig(text: string, bundle: string): PauseProcess {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(bundle, "config.json is not JSON", err);
  }
  if (!isObj(raw) || !isObj(raw.process)) fail(bundle, "config.json has no process object");
  const p = raw.process;
  if (!isStrings(p.args) || p.args.length === 0) fail(bundle, "process.args is empty");
  const bin = p.args[0]!;
  if (!isAbsolute(bin) || normalize(bin) !== bin || bin === "/") {
    fail(bundle, `process.args[0] "${bin}" is not a clean absolute path`);
  }
  const cwd = p.cwd ?? "/";
  if (typeof cwd !== "string" || !isAbsolute(cwd)) fail(bundle, "process.cwd is not absolute");
  const user = p.user ?? { uid: 0, gid: 0 };
  if (!isObj(user) || !isId(user.uid) || !isId(user.gid)) {
    fail(bundle, "process.user needs numeric uid and gid");
  }
  const extra = user.additionalGids;
  if (extra !== undefined && !(Array.isArray(extra) && extra.every(isId))) {
    fail(bundle, "process.user.additionalGids is not a list of ids");
  }
  const env = p.env ?? [];
  if (!isStrings(env)) fail(bundle, "process.env is not a list of strings");
  if (p.terminal !== undefined && typeof p.terminal !== "boolean") {
    fail(bundle, "process.terminal is not a boolean");
  }
  if (p.noNewPrivileges !== undefined && typeof p.noNewPrivileges !== "boolean") {
    fail(bundle, "process.noNewPrivileges is not a boolean");
  }
  return {
    terminal: p.terminal === true,
    user: { uid: user.uid, gid: user.gid, ...(extra ? { additionalGids: extra } : {}) },
    args: p.args,
    env,
    cwd,
    ...(p.capabilities !== undefined
      ? { capabilities: parseCapabilities(p.capabilities, bundle) }
      : {}),
    ...(p.noNewPrivileges !== undefined ? { noNewPrivileges: p.noNewPrivileges } : {}),
  };
}

/**
 * Prepares sandbox container `cid` from the pause bundle at `bundle`: reads its config.json,
 * copies the binary named by `args[0]` from `<bundle>/rootfs` into `rootfs` (as upstream, only
 * that file), and returns the process to run. Errors name the bundle path.
 */
export async function usePauseBundle(bundle: string, rootfs: string): Promise<PreparedPause> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(bundle, "config.json"));
  } catch (err) {
    fail(bundle, `${join(bundle, "config.json")} is missing from the guest image`, err);
  }
  const process = parsePauseConfig(text, bundle);
  const rel = process.args[0]!.slice(1);
  const src = join(bundle, "rootfs", rel);
  const st = await Deno.lstat(src).catch((err) => fail(bundle, `${src} is missing`, err));
  if (!st.isFile) fail(bundle, `${src} is not a regular file`);
  const dest = join(rootfs, rel);
  await Deno.mkdir(join(dest, ".."), { recursive: true });
  await Deno.copyFile(src, dest);
  await Deno.chmod(dest, (st.mode ?? 0o755) & 0o755);
  return { rootfs, process };
}
