/**
 * {@linkcode OciRuntime}: runs runc (or crun) for the agent. Containers are created with
 * `runc create` and exec'd with `runc exec -d`, both with pass-through stdio: the pipes Deno
 * gives runc are inherited by the container process and stay open after runc exits. The agent
 * is a child subreaper, so that process is re-parented to it and its exit status is collected
 * with `waitpid` (see `@coco/lib/sys` waitPid).
 */
import { join } from "node:path";
import { agentError } from "./errors.ts";
import { consoleSocket, ttyPipes } from "./tty.ts";

/** Stdio of a process started through the runtime. */
export interface ProcessPipes {
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
}

/** A started container/exec process: its pid (child of the agent once runc exited) and pipes. */
export interface StartedProcess extends ProcessPipes {
  pid: number;
  /** The pty master fd, for processes with a terminal. */
  tty?: number;
}

/** Options of {@linkcode OciRuntime}. */
export interface OciRuntimeOptions {
  /** runc or crun executable. */
  binary: string;
  /** State directory (`--root`). */
  root: string;
}

async function readPid(path: string): Promise<number> {
  const text = (await Deno.readTextFile(path)).trim();
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid file ${path}: "${text}"`);
  return pid;
}

async function lastLogError(logFile: string): Promise<string> {
  try {
    const lines = (await Deno.readTextFile(logFile)).trim().split("\n").reverse();
    for (const line of lines) {
      try {
        const rec = JSON.parse(line) as { level?: string; msg?: string };
        if (rec.level === "error" && rec.msg) return rec.msg;
      } catch {
        if (line) return line;
      }
    }
  } catch {
    // no log
  }
  return "";
}

/** A runc-compatible OCI runtime CLI. */
export class OciRuntime {
  readonly binary: string;
  readonly root: string;

  constructor(opts: OciRuntimeOptions) {
    this.binary = opts.binary;
    this.root = opts.root;
  }

  #base(logFile?: string): string[] {
    return [
      "--root",
      this.root,
      ...(logFile ? ["--log", logFile, "--log-format", "json"] : []),
    ];
  }

  /** Runs a short runtime command; throws AgentError(internal) with runc's message on failure. */
  async run(args: string[], what: string): Promise<string> {
    const out = await new Deno.Command(this.binary, {
      args: [...this.#base(), ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    if (!out.success) {
      const msg = dec.decode(out.stderr).trim().split("\n").pop() ?? "";
      throw agentError("internal", `Cannot ${what}: ${this.binary} ${args[0]} failed: ${msg}`);
    }
    return dec.decode(out.stdout);
  }

  async #detached(
    args: string[],
    pidFile: string,
    logFile: string,
    what: string,
    terminal: boolean,
  ): Promise<StartedProcess> {
    if (terminal) return await this.#detachedTty(args, pidFile, logFile, what);
    const child = new Deno.Command(this.binary, {
      args: [...this.#base(logFile), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const status = await child.status;
    if (!status.success) {
      await child.stdin.close().catch(() => {});
      const err = await new Response(child.stderr).text().catch(() => "");
      await child.stdout.cancel().catch(() => {});
      const msg = (await lastLogError(logFile)) || err.trim().split("\n").pop() || "";
      throw agentError("internal", `Cannot ${what}: ${this.binary} ${args[0]} failed: ${msg}`);
    }
    const pid = await readPid(pidFile);
    return { pid, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr };
  }

  /** runc with `--console-socket`: the pty master arrives over the socket. */
  async #detachedTty(args: string[], pidFile: string, logFile: string, what: string) {
    const sock = consoleSocket(join(this.root, `tty-${crypto.randomUUID().slice(0, 8)}.sock`));
    const [cmd, ...rest] = args;
    const out = await new Deno.Command(this.binary, {
      args: [...this.#base(logFile), cmd!, "--console-socket", sock.path, ...rest],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output().catch(async (err) => {
      await sock.abort();
      throw err;
    });
    if (!out.success) {
      await sock.abort();
      const err = new TextDecoder().decode(out.stderr);
      const msg = (await lastLogError(logFile)) || err.trim().split("\n").pop() || "";
      throw agentError("internal", `Cannot ${what}: ${this.binary} ${cmd} failed: ${msg}`);
    }
    const tty = await sock.receive();
    return { pid: await readPid(pidFile), tty, ...ttyPipes(tty) };
  }

  /** `runc create`: the container's init process exists, stopped before exec. */
  create(id: string, bundle: string, terminal = false): Promise<StartedProcess> {
    const pidFile = join(bundle, "init.pid");
    return this.#detached(
      ["create", "--bundle", bundle, "--pid-file", pidFile, id],
      pidFile,
      join(bundle, "runc.log"),
      `create container ${id}`,
      terminal,
    );
  }

  /** `runc exec -d` of a process.json written in the bundle. */
  async exec(
    id: string,
    bundle: string,
    execId: string,
    process: unknown,
    terminal = false,
  ): Promise<StartedProcess> {
    const processFile = join(bundle, `exec-${execId}.json`);
    const pidFile = join(bundle, `exec-${execId}.pid`);
    await Deno.writeTextFile(processFile, JSON.stringify(process));
    return await this.#detached(
      ["exec", "-d", "--pid-file", pidFile, "--process", processFile, id],
      pidFile,
      join(bundle, "runc.log"),
      `exec ${execId} in container ${id}`,
      terminal,
    );
  }

  /** `runc start`. */
  async start(id: string): Promise<void> {
    await this.run(["start", id], `start container ${id}`);
  }

  /** `runc kill [--all] ID SIG`. */
  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.run(["kill", ...(all ? ["--all"] : []), id, String(signal)], `signal ${id}`);
  }

  /** `runc delete --force`. */
  async delete(id: string): Promise<void> {
    await this.run(["delete", "--force", id], `delete container ${id}`);
  }

  /** `runc pause` / `runc resume`. */
  async pause(id: string, resume: boolean): Promise<void> {
    await this.run([resume ? "resume" : "pause", id], `${resume ? "resume" : "pause"} ${id}`);
  }

  /** `runc update --resources -` with an OCI `linux.resources` object. */
  async update(id: string, resources: unknown): Promise<void> {
    const file = join(this.root, `${id}-update.json`);
    await Deno.writeTextFile(file, JSON.stringify(resources));
    try {
      await this.run(["update", "--resources", file, id], `update container ${id}`);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }

  /** `runc events --stats`: one stats record (runc's JSON). */
  async stats(id: string): Promise<unknown> {
    return JSON.parse(await this.run(["events", "--stats", id], `read stats of ${id}`));
  }

  /** `runc ps --format json`: pids in the container. */
  async pids(id: string): Promise<number[]> {
    const parsed: unknown = JSON.parse(
      await this.run(["ps", "--format", "json", id], `list processes of ${id}`),
    );
    return Array.isArray(parsed) ? parsed.filter((p): p is number => typeof p === "number") : [];
  }
}
