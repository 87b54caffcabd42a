/**
 * A process's stdio between containerd's FIFOs and the agent (spec/runtime.md §5.6): stdin is
 * read from its FIFO and sent with WriteStdin; stdout and stderr are pulled with
 * ReadStdout / ReadStderr and written to their FIFOs, 32 KiB at a time. Stdout/stderr FIFOs are
 * opened read-write so the open never blocks; stdin is opened read-write and then read-only (so
 * the open does not block either, and EOF still arrives when the client closes its end). With a
 * terminal there is no stderr. Paths may be plain, `fifo://` or `file://`; `binary://` loggers
 * are not supported.
 */
import type { Logger } from "@coco/lib/log";
import { shimError } from "./errors.ts";

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
    throw shimError("unimplemented", `stdio ${uri}: binary:// loggers are not supported`);
  }
  if (uri.startsWith("file://")) return { kind: "file", path: uri.slice("file://".length) };
  const path = uri.startsWith("fifo://") ? uri.slice("fifo://".length) : uri;
  if (!path.startsWith("/")) throw shimError("bad-request", `stdio path ${uri} is not absolute`);
  return { kind: "fifo", path };
}

async function openOutput(uri: string): Promise<Deno.FsFile | undefined> {
  const u = parseUri(uri);
  if (!u) return undefined;
  try {
    return u.kind === "file"
      ? await Deno.open(u.path, { write: true, append: true, create: true })
      : await Deno.open(u.path, { read: true, write: true });
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

/** The open streams of one process and the copies between them and the agent. */
export class ProcessIO {
  readonly #stdin?: Deno.FsFile;
  readonly #stdout?: Deno.FsFile;
  readonly #stderr?: Deno.FsFile;
  readonly #logger: Logger;
  #stdinDone: Promise<void> = Promise.resolve();
  #outputDone: Promise<void> = Promise.resolve();
  #started = false;

  private constructor(
    files: { stdin?: Deno.FsFile; stdout?: Deno.FsFile; stderr?: Deno.FsFile },
    logger: Logger,
  ) {
    if (files.stdin) this.#stdin = files.stdin;
    if (files.stdout) this.#stdout = files.stdout;
    if (files.stderr) this.#stderr = files.stderr;
    this.#logger = logger;
  }

  /** Opens the streams (never blocks on a FIFO without a peer). */
  static async open(paths: StdioPaths, logger: Logger): Promise<ProcessIO> {
    const files: { stdin?: Deno.FsFile; stdout?: Deno.FsFile; stderr?: Deno.FsFile } = {};
    try {
      const stdout = await openOutput(paths.stdout);
      if (stdout) files.stdout = stdout;
      const stderr = paths.terminal ? undefined : await openOutput(paths.stderr);
      if (stderr) files.stderr = stderr;
      const stdin = await openInput(paths.stdin);
      if (stdin) files.stdin = stdin;
    } catch (err) {
      for (const f of Object.values(files)) closeQuietly(f);
      throw err;
    }
    return new ProcessIO(files, logger);
  }

  /** True when the process has a stdin stream. */
  get hasStdin(): boolean {
    return this.#stdin !== undefined;
  }

  /** Resolves when the stdin copy has reached EOF (or failed, or there is no stdin). */
  get stdinDone(): Promise<void> {
    return this.#stdinDone;
  }

  /** Resolves when stdout and stderr have reached EOF from the agent and were written out. */
  get outputDone(): Promise<void> {
    return this.#outputDone;
  }

  /** Starts copying; call once the agent process exists. */
  start(agent: AgentStreams): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#stdin) this.#stdinDone = this.#copyIn(this.#stdin, agent);
    const outs = [
      this.#stdout ? this.#copyOut("stdout", this.#stdout, agent) : undefined,
      this.#stderr ? this.#copyOut("stderr", this.#stderr, agent) : undefined,
    ].filter((p) => p !== undefined);
    this.#outputDone = Promise.all(outs).then(() => {});
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

  /** Closes whatever is still open (stdin reader included). */
  close(): void {
    if (!this.#started) {
      closeQuietly(this.#stdin);
      closeQuietly(this.#stdout);
      closeQuietly(this.#stderr);
    }
  }
}
