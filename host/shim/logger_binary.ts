/**
 * `binary://` stdio loggers (containerd's runtime v2 logging protocol, as the runc shim runs
 * them): the URI `binary:///path/to/logger?k=v&k2=v2` names an executable that the shim starts
 * with the container's stdout on fd 3, its stderr on fd 4 and a "wait" pipe on fd 5, which the
 * logger closes once it is ready; the shim does not copy any output before that. The query gives
 * the arguments (`k v k2 v2`, first value of each key, in URI order), and keys starting with
 * `env.` become environment variables (containerd 2.x); the environment is otherwise only
 * `CONTAINER_ID` and `CONTAINER_NAMESPACE`. When the shim closes fds 3 and 4 (the process's
 * output ended) the logger is expected to drain them and exit; one that does not gets SIGTERM
 * and then SIGKILL.
 *
 * Deno cannot hand extra descriptors to a child, so the three pipes are FIFOs in a private
 * temporary directory, opened onto fds 3–5 by `/bin/sh` just before it execs the logger.
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { loadSys, mknod } from "@coco/lib/sys";
import { shimError } from "./errors.ts";

/** A parsed `binary://` URI. */
export interface BinaryLoggerUri {
  /** Absolute path of the logger executable. */
  path: string;
  /** Arguments from the query: each key, then its first value. */
  args: string[];
  /** Environment from `env.NAME=value` query keys. */
  env: Record<string, string>;
}

/** Whose output a logger receives (its `CONTAINER_ID` / `CONTAINER_NAMESPACE`). */
export interface LoggerIdentity {
  containerId: string;
  namespace: string;
}

/** Options of {@linkcode BinaryLogger.start}. */
export interface BinaryLoggerOptions {
  logger: Logger;
  /** How long the logger may take to close its wait pipe (default 30 s). */
  readyTimeoutMs?: number;
  /** How long it may take to exit once its input ended, before SIGTERM (default 10 s). */
  exitGraceMs?: number;
  /** The shell that opens the pipes onto fds 3–5 (default `/bin/sh`). */
  shell?: string;
}

const ENV_PREFIX = "env.";
const RESERVED_ENV = new Set(["CONTAINER_ID", "CONTAINER_NAMESPACE"]);
/** Opens the three FIFOs onto fds 3, 4 and 5, then becomes the logger. */
const WRAPPER = 'a=$1 b=$2 c=$3; shift 3; exec "$@" 3<"$a" 4<"$b" 5>"$c"';

/** Parses `binary:///path?k=v`; throws a `bad-request` ShimError naming the URI. */
export function parseBinaryUri(uri: string): BinaryLoggerUri {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw shimError("bad-request", `stdio ${uri} is not a valid binary:// URI`, err);
  }
  if (url.protocol !== "binary:") {
    throw shimError("bad-request", `stdio ${uri} is not a binary:// URI`);
  }
  if (url.host !== "") {
    throw shimError(
      "bad-request",
      `stdio ${uri}: a binary:// URI names a local path (binary:///path), not host ${url.host}`,
    );
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch (err) {
    throw shimError(
      "bad-request",
      `stdio ${uri}: the logger path is not valid percent-encoding`,
      err,
    );
  }
  if (!path.startsWith("/") || path.includes("\0")) {
    throw shimError("bad-request", `stdio ${uri}: the logger path must be absolute`);
  }
  const args: string[] = [];
  const env: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [k, v] of url.searchParams) {
    if (seen.has(k)) continue;
    seen.add(k);
    if (k.includes("\0") || v.includes("\0")) {
      throw shimError("bad-request", `stdio ${uri}: logger arguments cannot hold NUL`);
    }
    if (k.startsWith(ENV_PREFIX)) {
      const name = k.slice(ENV_PREFIX.length);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw shimError("bad-request", `stdio ${uri}: ${k} is not a valid environment name`);
      }
      if (!RESERVED_ENV.has(name)) env[name] = v;
      continue;
    }
    args.push(k, v);
  }
  return { path, args, env };
}

/** Checks that the logger exists and is an executable file (a clear error before any spawn). */
export async function checkLoggerBinary(uri: BinaryLoggerUri): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(uri.path);
  } catch (err) {
    throw shimError("bad-request", `binary logger ${uri.path} does not exist`, err);
  }
  if (!info.isFile || ((info.mode ?? 0) & 0o111) === 0) {
    throw shimError("bad-request", `binary logger ${uri.path} is not an executable file`);
  }
}

function closeQuietly(f: Deno.FsFile | undefined) {
  try {
    f?.close();
  } catch { /* already closed */ }
}

/** A running logger process and the shim's write ends of its stdout / stderr pipes. */
export class BinaryLogger {
  /** Write end of the logger's fd 3. */
  readonly stdout: Deno.FsFile;
  /** Write end of the logger's fd 4 (undefined when the process has no stderr). */
  readonly stderr: Deno.FsFile | undefined;
  readonly #child: Deno.ChildProcess;
  readonly #o: BinaryLoggerOptions;
  #stopping: Promise<void> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    stdout: Deno.FsFile,
    stderr: Deno.FsFile | undefined,
    options: BinaryLoggerOptions,
  ) {
    this.#child = child;
    this.stdout = stdout;
    this.stderr = stderr;
    this.#o = options;
  }

  /** The logger's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts the logger and resolves once it closed its wait pipe (fd 5). Fails with a
   * `start-failed` ShimError when it exits first or does not get ready in time.
   */
  static async start(
    uri: BinaryLoggerUri,
    who: LoggerIdentity,
    withStderr: boolean,
    options: BinaryLoggerOptions,
  ): Promise<BinaryLogger> {
    await checkLoggerBinary(uri);
    loadSys();
    const dir = await Deno.makeTempDir({ prefix: "coco-logger-" });
    const [out, err, wait] = ["stdout", "stderr", "wait"].map((n) => join(dir, n)) as [
      string,
      string,
      string,
    ];
    const held: Deno.FsFile[] = [];
    let child: Deno.ChildProcess | undefined;
    try {
      for (const p of [out, err, wait]) mknod(p, "fifo", { mode: 0o600 });
      // Read-write opens never block and keep fds 3/4 openable without a writer race.
      const outRw = await Deno.open(out, { read: true, write: true });
      held.push(outRw);
      const errRw = await Deno.open(err, { read: true, write: true });
      held.push(errRw);
      child = new Deno.Command(options.shell ?? "/bin/sh", {
        args: ["-c", WRAPPER, "coco-logger", out, err, wait, uri.path, ...uri.args],
        clearEnv: true,
        env: { ...uri.env, CONTAINER_ID: who.containerId, CONTAINER_NAMESPACE: who.namespace },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitReady(child, wait, uri.path, options.readyTimeoutMs ?? 30_000);
      // Now pure writers (EOF / EPIPE semantics), then drop the read-write handles.
      const stdout = await Deno.open(out, { write: true });
      held.push(stdout);
      const stderr = withStderr ? await Deno.open(err, { write: true }) : undefined;
      closeQuietly(outRw);
      closeQuietly(errRw);
      options.logger.debug("binary logger ready", { path: uri.path, pid: child.pid });
      return new BinaryLogger(child, stdout, stderr, options);
    } catch (e) {
      for (const f of held) closeQuietly(f);
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
        await child.status;
      }
      throw e;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * Closes the pipes (if the copies have not) and waits for the logger to exit, sending SIGTERM
   * after the grace period and SIGKILL after as long again. Never throws.
   */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      closeQuietly(this.stdout);
      closeQuietly(this.stderr);
      const grace = this.#o.exitGraceMs ?? 10_000;
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (await exitsWithin(this.#child, grace)) return;
        this.#o.logger.warn("binary logger did not exit; signalling it", {
          pid: this.#child.pid,
          signal,
        });
        try {
          this.#child.kill(signal);
        } catch { /* exited meanwhile */ }
      }
      await this.#child.status;
    })();
  }
}

async function exitsWithin(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  try {
    return await Promise.race([child.status.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the wait FIFO and reads it to EOF; fails if the logger exits or stalls first. */
async function waitReady(
  child: Deno.ChildProcess,
  wait: string,
  path: string,
  timeoutMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
  const exited = child.status.then(() => "exited" as const);
  const opening = Deno.open(wait, { read: true });
  let file: Deno.FsFile | undefined;
  try {
    const first = await Promise.race([opening, exited, timedOut]);
    if (first === "exited" || first === "timeout") {
      // Unblock our pending open (a read-write open is a writer), then report.
      const unblock = await Deno.open(wait, { read: true, write: true });
      closeQuietly(await opening);
      closeQuietly(unblock);
      throw notReady(path, first, child);
    }
    file = first;
    const buf = new Uint8Array(64);
    const reading = (async () => {
      while ((await file.read(buf)) !== null) { /* the logger may write; we wait for EOF */ }
    })();
    const done = await Promise.race([reading.then(() => "ready" as const), timedOut]);
    if (done === "timeout") {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await reading.catch(() => {});
      throw notReady(path, "timeout", child);
    }
  } finally {
    clearTimeout(timer);
    closeQuietly(file);
  }
}

function notReady(path: string, why: "exited" | "timeout", child: Deno.ChildProcess) {
  return shimError(
    "start-failed",
    why === "exited"
      ? `binary logger ${path} (pid ${child.pid}) exited before it was ready`
      : `binary logger ${path} (pid ${child.pid}) did not close its wait pipe (fd 5) in time`,
  );
}
