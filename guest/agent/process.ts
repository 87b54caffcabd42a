/**
 * {@linkcode AgentProcess}: one container process (init or exec) with its stdio and exit status,
 * as the pull-style stdio RPCs need it (spec/runtime.md §3.3): `read(len)` returns at most
 * `len` bytes and an empty array at EOF; `write` returns the bytes written; `wait` resolves with
 * the exit code (128 + signal for signal deaths).
 */
import { closeFd, setWinSize } from "@coco/lib/sys";
import { agentError } from "./errors.ts";
import type { StartedProcess } from "./runtime.ts";

/** Reads a byte stream in caller-sized pieces; an empty result means EOF. */
export class ChunkReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #rest: Uint8Array = new Uint8Array(0);
  #done = false;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #ended = Promise.withResolvers<void>();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Resolves once a read has returned EOF, or the reader was cancelled. */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** Up to `max` bytes; calls are served one at a time in order. */
  read(max: number): Promise<Uint8Array> {
    const next = this.#queue.then(() => this.#read(max));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #read(max: number): Promise<Uint8Array> {
    if (max <= 0) return new Uint8Array(0);
    while (this.#rest.length === 0 && !this.#done) {
      const r = await this.#reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) this.#done = true;
      else if (r.value) this.#rest = r.value;
    }
    const out = this.#rest.subarray(0, max);
    this.#rest = this.#rest.subarray(out.length);
    if (out.length === 0) this.#ended.resolve();
    return out.slice();
  }

  /** Stops reading and releases the stream. */
  async cancel(): Promise<void> {
    this.#done = true;
    this.#ended.resolve();
    await this.#reader.cancel().catch(() => {});
  }
}

/** A process of a container. */
export class AgentProcess {
  readonly execId: string;
  readonly pid: number;
  readonly stdout: ChunkReader;
  readonly stderr: ChunkReader;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  readonly #exit: Promise<number>;
  #exitCode: number | undefined;
  #tty: number | undefined;

  constructor(execId: string, started: StartedProcess, wait: (pid: number) => Promise<number>) {
    this.execId = execId;
    this.pid = started.pid;
    this.stdout = new ChunkReader(started.stdout);
    this.stderr = new ChunkReader(started.stderr);
    this.#stdin = started.stdin.getWriter();
    this.#tty = started.tty;
    this.#exit = wait(started.pid).then((code) => this.#exitCode = code);
  }

  /** The exit code once the process has exited. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** Resolves with the exit code. */
  wait(): Promise<number> {
    return this.#exit;
  }

  /** Resolves once stdout and stderr have both been read to EOF (or released). */
  drained(): Promise<void> {
    return Promise.all([this.stdout.ended, this.stderr.ended]).then(() => {});
  }

  /** Writes all of `data` to stdin; returns its length. */
  async write(data: Uint8Array): Promise<number> {
    if (this.#stdinClosed) throw new Error("stdin is closed");
    await this.#stdin.write(data);
    return data.length;
  }

  /** Closes stdin (the process sees EOF); idempotent. */
  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#stdin.close().catch(() => {});
  }

  /** Sets the terminal size; UNAVAILABLE when the process has no terminal. */
  resize(rows: number, cols: number): void {
    if (this.#tty === undefined) throw agentError("unavailable", `${this.execId} has no tty`);
    setWinSize(this.#tty, rows, cols);
  }

  /** Releases stdio (and the pty master) after the process has gone. */
  async release(): Promise<void> {
    await this.closeStdin();
    await Promise.all([this.stdout.cancel(), this.stderr.cancel()]);
    if (this.#tty !== undefined) {
      const fd = this.#tty;
      this.#tty = undefined;
      try {
        closeFd(fd);
      } catch { /* already closed */ }
    }
  }
}
