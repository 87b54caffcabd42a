/**
 * Real PostgreSQL and Redis servers for tests and benchmarks: each runs from a temporary
 * directory, listens on a unix socket only (no TCP port), is awaited by reading its own
 * "ready" log line (never a sleep) and is stopped by PID. When running as root, PostgreSQL runs
 * as the `postgres` user through `setpriv` (initdb refuses root); `setpriv` execs, so the PID we
 * hold is the server's own.
 *
 * @module
 */
import { findPeers, isRoot, type Peers } from "../../tests/peers.ts";
import { forEachLine } from "@coco/lib/lines";

/** A running server; `stop()` ends it and removes its directory. */
export interface TestServer {
  /** Server PID (the process we signal). */
  pid(): number;
  /** Everything the server logged, for failure messages. */
  log(): string;
  /** Stops the server (fast shutdown) without removing its data; `start()` brings it back. */
  halt(): Promise<void>;
  /** Starts the server again on the same data and socket after `halt()`. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** A PostgreSQL server on a unix socket in `socketDir` (port 5432 names the socket file). */
export interface TestPostgres extends TestServer {
  socketDir: string;
  port: number;
}

/** A Redis server on the unix socket `socketPath` (`url` = `unix://…`). */
export interface TestRedis extends TestServer {
  socketPath: string;
  url: string;
}

/** Peers needed by {@linkcode startPostgres}; pass to `skipUnless`. */
export function postgresPeers(): Peers {
  const peers = findPeers("initdb", "postgres");
  if (!peers.ok || !isRoot()) return peers;
  const priv = findPeers("setpriv");
  return priv.ok && postgresIds() ? peers : {
    ok: false,
    reason: "running as root needs setpriv and a postgres user to run PostgreSQL",
    paths: peers.paths,
  };
}

/** Peers needed by {@linkcode startRedis}. */
export function redisPeers(): Peers {
  return findPeers("redis-server");
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[0] === "postgres") return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no passwd file: not a system we can run PostgreSQL on as root
  }
  return undefined;
}

interface Proc {
  child: Deno.ChildProcess;
  done: Promise<void>;
}

/** Spawns `cmd` and resolves once a line of its output matches `ready`. */
async function spawnUntil(
  cmd: string,
  args: string[],
  ready: RegExp,
  lines: string[],
): Promise<Proc> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let resolve!: () => void;
  const seen = new Promise<void>((r) => (resolve = r));
  const pump = (stream: ReadableStream<Uint8Array>) =>
    forEachLine(stream, (line) => {
      lines.push(line);
      if (ready.test(line)) resolve();
    });
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => {});
  const exited = child.status.then((s) => {
    throw new Error(`${cmd} exited with ${s.code} before it was ready:\n${lines.join("\n")}`);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      reject(new Error(`${cmd} not ready after 60 s:\n${lines.join("\n")}`));
    }, 60_000);
  });
  try {
    await Promise.race([seen, exited, timeout]);
  } catch (err) {
    exited.catch(() => {});
    await child.status;
    await done;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  exited.catch(() => {});
  return { child, done };
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function terminate(proc: Proc | undefined, signal: Deno.Signal): Promise<void> {
  if (!proc) return;
  try {
    proc.child.kill(signal);
  } catch {
    // already exited
  }
  await proc.child.status;
  await proc.done;
}

/** Runs initdb into a temporary directory and starts `postgres` on a unix socket there. */
export async function startPostgres(): Promise<TestPostgres> {
  const peers = postgresPeers();
  if (!peers.ok) throw new Error(peers.reason);
  const dir = await Deno.makeTempDir({ prefix: "kv-pg-" });
  const ids = isRoot() ? postgresIds() : undefined;
  const as = (bin: string, args: string[]): [string, string[]] =>
    ids
      ? ["setpriv", [
        `--reuid=${ids.uid}`,
        `--regid=${ids.gid}`,
        "--clear-groups",
        bin,
        ...args,
      ]]
      : [bin, args];
  const lines: string[] = [];
  let proc: Proc | undefined;
  const start = async () => {
    const [cmd, args] = as(peers.paths["postgres"]!, [
      "-D",
      `${dir}/data`,
      "-k",
      dir,
      "-p",
      "5432",
      "-c",
      "listen_addresses=",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
    ]);
    proc = await spawnUntil(cmd, args, /database system is ready to accept connections/, lines);
  };
  try {
    if (ids) await Deno.chown(dir, ids.uid, ids.gid);
    const [cmd, args] = as(peers.paths["initdb"]!, [
      "-D",
      `${dir}/data`,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ]);
    await run(cmd, args);
    await start();
  } catch (err) {
    await terminate(proc, "SIGINT");
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    socketDir: dir,
    port: 5432,
    pid: () => proc!.child.pid,
    log: () => lines.join("\n"),
    halt: async () => {
      await terminate(proc, "SIGINT");
      proc = undefined;
    },
    start,
    async stop() {
      await terminate(proc, "SIGINT");
      proc = undefined;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Starts `redis-server` on a unix socket in a temporary directory, with persistence off. */
export async function startRedis(): Promise<TestRedis> {
  const peers = redisPeers();
  if (!peers.ok) throw new Error(peers.reason);
  const dir = await Deno.makeTempDir({ prefix: "kv-redis-" });
  const socketPath = `${dir}/redis.sock`;
  const lines: string[] = [];
  let proc: Proc | undefined;
  const start = async () => {
    proc = await spawnUntil(
      peers.paths["redis-server"]!,
      [
        "--port",
        "0",
        "--unixsocket",
        socketPath,
        "--unixsocketperm",
        "700",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxclients",
        "1000",
      ],
      /ready to accept connections/i,
      lines,
    );
  };
  try {
    await start();
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    socketPath,
    url: `unix://${socketPath}`,
    pid: () => proc!.child.pid,
    log: () => lines.join("\n"),
    halt: async () => {
      await terminate(proc, "SIGTERM");
      proc = undefined;
    },
    start,
    async stop() {
      await terminate(proc, "SIGTERM");
      proc = undefined;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
