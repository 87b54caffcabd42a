/**
 * A process's stdio between containerd's FIFOs and the agent (spec/runtime.md §5.6): stdin is
 * read from its FIFO and sent with WriteStdin; stdout and stderr are pulled with
 * ReadStdout / ReadStderr and written to their FIFOs, 32 KiB at a time. Stdout/stderr FIFOs are
 * opened read-write so the open never blocks; stdin is opened read-write and then read-only (so
 * the open does not block either, and EOF still arrives when the client closes its end). With a
 * terminal there is no stderr. Paths may be plain, `fifo://` or `file://` (parent directories are
 * created, output appended). A `binary://` stdout starts a logger process (logger_binary.ts) that
 * receives stdout and stderr; it needs the container's identity, given to `open` or later to
 * `attachLogger` (the pod opens the init process's streams before the task service knows the
 * namespace).
 */
import { dirname } from "node:path";
import type { Logger } from "@coco/lib/log";
import { shimError } from "./errors.ts";
import {
  BinaryLogger,
  type BinaryLoggerUri,
  checkLoggerBinary,
  type LoggerIdentity,
  parseBinaryUri,
} from "./logger_binary.ts";

/** Copy size, as Kata. */
export const COPY_SIZE = 32 * 1024;

/** The agent side of one process's streams. */
export interface AgentStreams {
  write(data: Uint8Array): Promise<number>;
  read(stream: "stdout" | "stderr", len: number): Promise<Uint8Array>;
}

/** Stream paths from Create / Exec. */
export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

function parseUri(uri: string): { kind: "fifo" | "file"; path: string } | undefined {
  if (uri === "") return undefined;
  if (uri.startsWith("binary://")) {
    throw shimError("bad-request", `stdio ${uri}: a binary:// logger can only be given as stdout`);
  }
  const file = uri.startsWith("file://");
  const path = file
    ? uri.slice("file://".length)
    : uri.startsWith("fifo://")
    ? uri.slice("fifo://".length)
    : uri;
  if (!path.startsWith("/")) throw shimError("bad-request", `stdio path ${uri} is not absolute`);
  return { kind: file ? "file" : "fifo", path };
}

async function openOutput(uri: string): Promise<Deno.FsFile | undefined> {
  const u = parseUri(uri);
  if (!u) return undefined;
  try {
    if (u.kind === "fifo") return await Deno.open(u.path, { read: true, write: true });
    await Deno.mkdir(dirname(u.path), { recursive: true, mode: 0o755 });
    return await Deno.open(u.path, { write: true, append: true, create: true });
  } catch (err) {
    throw shimError("bad-request", `Cannot open stdio ${uri}: ${(err as Error).message}`, err);
  }
}

async function openInput(uri: string): Promise<Deno.FsFile | undefined> {
  const u = parseUri(uri);
  if (!u) return undefined;
  try {
    if (u.kind === "file") return await Deno.open(u.path, { read: true });
    const rw = await Deno.open(u.path, { read: true, write: true });
    try {
      return await Deno.open(u.path, { read: true });
    } finally {
      rw.close();
    }
  } catch (err) {
    throw shimError("bad-request", `Cannot open stdin ${uri}: ${(err as Error).message}`, err);
  }
}

async function writeAll(f: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await f.write(data.subarray(off));
}

function closeQuietly(f: Deno.FsFile | undefined) {
  try {
    f?.close();
  } catch { /* already closed */ }
}

/** Where a binary:// stdout sends the output, before the logger runs. */
interface PendingLogger {
  uri: BinaryLoggerUri;
  withStderr: boolean;
}

function loggerFor(paths: StdioPaths): PendingLogger | undefined {
  if (!paths.stdout.startsWith("binary://")) {
    if (paths.stderr.startsWith("binary://") || paths.stdin.startsWith("binary://")) {
      throw shimError("bad-request", "stdio: a binary:// logger can only be given as stdout");
    }
    return undefined;
  }
  const uri = parseBinaryUri(paths.stdout);
  const stderr = paths.terminal ? "" : paths.stderr;
  if (stderr !== "" && stderr !== paths.stdout) {
    throw shimError(
      "bad-request",
      `stdio: stdout is the logger ${paths.stdout}, so stderr must be empty or the same URI, not ${stderr}`,
    );
  }
  return { uri, withStderr: stderr !== "" };
}

type Files = { stdin?: Deno.FsFile; stdout?: Deno.FsFile; stderr?: Deno.FsFile };

/** The open streams of one process and the copies between them and the agent. */
export class ProcessIO {
  readonly #files: Files;
  readonly #logger: Logger;
  #pending: PendingLogger | undefined;
  #binary: BinaryLogger | undefined;
  #loggerStopped: Promise<void> | undefined;
  #stdinDone: Promise<void> = Promise.resolve();
  #outputDone: Promise<void> = Promise.resolve();
  #started = false;
  #closed = false;

  private constructor(files: Files, pending: PendingLogger | undefined, logger: Logger) {
    this.#files = files;
    this.#pending = pending;
    this.#logger = logger;
  }

  /**
   * Opens the streams (never blocks on a FIFO without a peer). A `binary://` stdout starts its
   * logger now when `who` is given, else at {@linkcode attachLogger}.
   */
  static async open(paths: StdioPaths, logger: Logger, who?: LoggerIdentity): Promise<ProcessIO> {
    const files: Files = {};
    const pending = loggerFor(paths);
    if (pending) await checkLoggerBinary(pending.uri);
    try {
      if (!pending) {
        const stdout = await openOutput(paths.stdout);
        if (stdout) files.stdout = stdout;
        const stderr = paths.terminal ? undefined : await openOutput(paths.stderr);
        if (stderr) files.stderr = stderr;
      }
      const stdin = await openInput(paths.stdin);
      if (stdin) files.stdin = stdin;
    } catch (err) {
      for (const f of Object.values(files)) closeQuietly(f);
      throw err;
    }
    const io = new ProcessIO(files, pending, logger);
    if (pending && who) {
      try {
        await io.attachLogger(who);
      } catch (err) {
        await io.close();
        throw err;
      }
    }
    return io;
  }

  /** Starts the `binary://` logger for `who`, if there is one waiting; idempotent. */
  async attachLogger(who: LoggerIdentity): Promise<void> {
    const pending = this.#pending;
    if (!pending || this.#closed) return;
    this.#pending = undefined;
    const b = await BinaryLogger.start(pending.uri, who, pending.withStderr, {
      logger: this.#logger,
    });
    this.#binary = b;
    this.#files.stdout = b.stdout;
    if (b.stderr) this.#files.stderr = b.stderr;
    if (this.#closed) await this.#stopLogger();
  }

  /** True when the process has a stdin stream. */
  get hasStdin(): boolean {
    return this.#files.stdin !== undefined;
  }

  /** Resolves when the stdin copy has reached EOF (or failed, or there is no stdin). */
  get stdinDone(): Promise<void> {
    return this.#stdinDone;
  }

  /**
   * Resolves when stdout and stderr have reached EOF from the agent and were written out (and a
   * `binary://` logger has exited).
   */
  get outputDone(): Promise<void> {
    return this.#outputDone;
  }

  /** Starts copying; call once the agent process exists. */
  start(agent: AgentStreams): void {
    if (this.#started) return;
    if (this.#pending) {
      throw shimError("internal", "the binary:// logger was never started (no container identity)");
    }
    this.#started = true;
    const { stdin, stdout, stderr } = this.#files;
    if (stdin) this.#stdinDone = this.#copyIn(stdin, agent);
    const outs = [
      stdout ? this.#copyOut("stdout", stdout, agent) : undefined,
      stderr ? this.#copyOut("stderr", stderr, agent) : undefined,
    ].filter((p) => p !== undefined);
    this.#outputDone = Promise.all(outs).then(() => this.#stopLogger());
  }

  async #copyIn(file: Deno.FsFile, agent: AgentStreams): Promise<void> {
    const buf = new Uint8Array(COPY_SIZE);
    try {
      for (;;) {
        const n = await file.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await agent.write(buf.slice(off, n));
      }
    } catch (err) {
      this.#logger.debug("stdin copy ended", { error: err });
    } finally {
      closeQuietly(file);
    }
  }

  async #copyOut(which: "stdout" | "stderr", file: Deno.FsFile, agent: AgentStreams) {
    try {
      for (;;) {
        const data = await agent.read(which, COPY_SIZE);
        if (data.length === 0) break;
        await writeAll(file, data);
      }
    } catch (err) {
      this.#logger.debug(`${which} copy ended`, { error: err });
    } finally {
      closeQuietly(file);
    }
  }

  #stopLogger(): Promise<void> {
    if (!this.#binary) return Promise.resolve();
    return this.#loggerStopped ??= this.#binary.stop();
  }

  /**
   * Closes whatever is still open (stdin reader included) when the copies never started, and
   * resolves once a `binary://` logger has exited. Never throws.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    if (this.#started) return this.#outputDone;
    for (const f of Object.values(this.#files)) closeQuietly(f);
    return this.#stopLogger();
  }
}
