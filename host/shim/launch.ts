/**
 * The `start` and `delete` actions (spec/runtime.md §5.2, §5.3). `start` decides the socket
 * (or reuses the sandbox's for pod containers), spawns the serving shim detached from
 * containerd's pipes (`setsid`, stdio not inherited), waits for its `ready` line, writes
 * `address` and `shim.pid` atomically in the bundle and returns the address to print.
 * `delete` cleans up after a shim that is gone and returns the DeleteResponse bytes.
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { podRole, socketAddress, socketPath, writeAtomic } from "./address.ts";
import type { ShimConfig } from "./config.ts";
import { shimError } from "./errors.ts";
import type { ShimFlags } from "./flags.ts";
import { mountsUnder, PID_FILE, removeRunDir } from "./run_dir.ts";

async function annotationsOf(bundle: string): Promise<Record<string, string>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(join(bundle, "config.json")));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw shimError(
      "bad-bundle",
      `Cannot read ${bundle}/config.json: ${(err as Error).message}`,
      err,
    );
  }
  const ann = (raw as { annotations?: unknown } | null)?.annotations;
  if (ann === undefined || ann === null) return {};
  if (typeof ann !== "object" || Array.isArray(ann)) {
    throw shimError("bad-bundle", "config.json annotations must be an object");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ann)) if (typeof v === "string") out[k] = v;
  return out;
}

async function canConnect(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** The argv that re-runs this program's `shim` entry (bundle under deno, or a compiled exe). */
export function selfCommand(config: ShimConfig): string[] {
  if (Deno.build.standalone) return [Deno.execPath(), "shim"];
  const flags = ["run", "-A"];
  if (config.hypervisor.channel.type === "vsock") flags.push("--unstable-vsock");
  return [Deno.execPath(), ...flags, new URL(Deno.mainModule).pathname, "shim"];
}

/** Go-flag argv for the serving process (no action word). */
export function servingArgs(f: ShimFlags): string[] {
  const a = ["-namespace", f.namespace, "-id", f.id, "-address", f.address];
  if (f.publishBinary) a.push("-publish-binary", f.publishBinary);
  if (f.debug) a.push("-debug");
  return a;
}

async function firstLine(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((r) => timer = setTimeout(() => r(text), timeoutMs));
  const read = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += value;
      if (text.includes("\n")) return text;
    }
  })();
  const line = await Promise.race([read, timeout]);
  clearTimeout(timer);
  await reader.cancel().catch(() => {});
  return line.split("\n")[0]!.trim();
}

/** Runs the `start` action; returns the address to print. */
export async function startShim(
  flags: ShimFlags,
  config: ShimConfig,
  command: string[] = selfCommand(config),
): Promise<string> {
  const bundle = Deno.cwd();
  const role = podRole(flags.id, await annotationsOf(bundle));
  const group = role.kind === "container" ? role.sandboxId : flags.id;
  const address = socketAddress(flags.address, flags.namespace, group, config.socketDir);
  if (role.kind === "container" || await canConnect(socketPath(address))) {
    await writeAtomic(bundle, "address", address);
    return address;
  }
  const setsid = ["/usr/bin/setsid", "/bin/setsid"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const argv = [...(setsid ? [setsid] : []), ...command, ...servingArgs(flags)];
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd: bundle,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const line = await firstLine(child.stdout, 30_000);
  if (line !== "ready") {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw shimError("start-failed", `The serving shim did not start (${line || "no output"})`);
  }
  child.unref();
  await writeAtomic(bundle, "shim.pid", String(child.pid));
  await writeAtomic(bundle, "address", address);
  return address;
}

function cmdlineOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function killIfMatches(pid: number, needle: string, log: Logger): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  if (!cmdlineOf(pid).includes(needle)) return;
  try {
    Deno.kill(pid, "SIGKILL");
    log.info("killed leftover process", { pid });
  } catch { /* gone */ }
}

async function readPid(file: string): Promise<number> {
  return Number((await Deno.readTextFile(file).catch(() => "")).trim());
}

/** Runs the `delete` action; returns the protobuf DeleteResponse for stdout. */
export async function deleteShim(flags: ShimFlags, config: ShimConfig, log: Logger) {
  const bundle = flags.bundle || Deno.cwd();
  const runDir = join(config.runtimeDir, flags.id);
  killIfMatches(await readPid(join(bundle, "shim.pid")), `-id ${flags.id} `, log);
  killIfMatches(await readPid(join(runDir, PID_FILE)), runDir, log);
  for (const m of (await mountsUnder(runDir)).reverse()) {
    await new Deno.Command("umount", { args: ["-l", m], stdout: "null", stderr: "null" }).output();
  }
  await removeRunDir(runDir, log);
  const address = socketAddress(flags.address, flags.namespace, flags.id, config.socketDir);
  if (!(await canConnect(socketPath(address)))) {
    await Deno.remove(socketPath(address)).catch(() => {});
  }
  // Loaded here only: `start` (on every pod start's critical path) needs no protobuf.
  const [{ toBinary }, { create, shimTask }] = await Promise.all([
    import("@bufbuild/protobuf"),
    import("@coco/lib/proto"),
  ]);
  const now = Date.now();
  return toBinary(
    shimTask.DeleteResponseSchema,
    create(shimTask.DeleteResponseSchema, {
      pid: 0,
      exitStatus: 128 + 9,
      exitedAt: { seconds: BigInt(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 },
    }),
  );
}
