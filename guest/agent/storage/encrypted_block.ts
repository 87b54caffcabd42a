/**
 * `blk` storages, with CoCo's trusted ephemeral storage: with driver option
 * `encryption_key=ephemeral` the device is formatted as LUKS2 under a random key that never
 * leaves guest memory (detached header in `/run`, so the host sees only ciphertext and nothing
 * is recoverable after the VM ends), opened with dm-crypt, given a fresh ext filesystem and
 * mounted. This is what upstream does through the CDH `SecureMount` (`block-device`, `luks2`,
 * `sourceType=empty`, `targetType=fileSystem`); we do it in the agent with `cryptsetup`.
 *
 * `source` is a guest block device path under `/dev`. Ours, for launchers that cannot attach a
 * scratch disk: `loop:<MiB>` makes a sparse file of that size under the sandbox dir and attaches
 * a loop device. Upstream's PCI-path form of `source` is not supported.
 */
import { join } from "node:path";
import { agentError } from "../errors.ts";
import { ensureInside } from "../paths.ts";
import type { MountedStorage, StorageContext, StorageHandler } from "./types.ts";

/** Runs a tool; resolves with stdout, rejects (internal) with its stderr. */
export type ToolRunner = (cmd: string, args: string[], stdin?: Uint8Array) => Promise<string>;

/** The real runner. */
export const runTool: ToolRunner = async (cmd, args, stdin) => {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw agentError(
      "internal",
      `${cmd} ${args[0] ?? ""} failed: ${dec.decode(out.stderr).trim()}`,
    );
  }
  return dec.decode(out.stdout);
};

function option(options: readonly string[], key: string): string | undefined {
  return options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
}

async function blockDevice(
  source: string,
  ctx: StorageContext,
  run: ToolRunner,
  undo: (() => Promise<void>)[],
) {
  const loop = source.match(/^loop:(\d{1,6})$/);
  if (loop) {
    const mib = Number(loop[1]);
    if (mib < 16 || mib > 65536) {
      throw agentError("invalid-argument", `blk storage: loop size ${mib} MiB is not 16-65536`);
    }
    const dir = join(ctx.paths.sandbox, "loop");
    await Deno.mkdir(dir, { recursive: true });
    const file = await Deno.makeTempFile({ dir, suffix: ".img" });
    undo.push(() => Deno.remove(file));
    await Deno.truncate(file, mib * 1024 * 1024);
    // Two steps (`-f` names the next free device, then attach): busybox has no `--show`.
    const dev = (await run("losetup", ["-f"])).trim();
    if (!/^\/dev\/loop\d+$/.test(dev)) {
      throw agentError("internal", `blk storage: losetup -f answered "${dev}"`);
    }
    await run("losetup", [dev, file]);
    undo.push(async () => void await run("losetup", ["-d", dev]));
    return dev;
  }
  if (!/^\/dev\/[A-Za-z0-9/_.-]+$/.test(source) || source.includes("..")) {
    throw agentError(
      "invalid-argument",
      `blk storage: source "${source}" is not a /dev block device`,
    );
  }
  const st = await Deno.stat(source).catch(() => undefined);
  if (!st?.isBlockDevice) {
    throw agentError("not-found", `blk storage: ${source} is not a block device`);
  }
  return source;
}

/** Makes `blk` storages (plain mount, or LUKS2 with an ephemeral key); `run` is injectable. */
export function blockHandler(run: ToolRunner = runTool): StorageHandler {
  return {
    driver: "blk",
    async handle(storage, _cid, ctx): Promise<MountedStorage> {
      const mp = await ensureInside(storage.mountPoint, [ctx.paths.base], "Storage mount_point");
      const key = option(storage.driverOptions, "encryption_key");
      if (key !== undefined && key !== "ephemeral") {
        throw agentError(
          "invalid-argument",
          `blk storage: encryption_key "${key}" is not "ephemeral"`,
        );
      }
      if (key === undefined && storage.source.startsWith("loop:")) {
        throw agentError(
          "invalid-argument",
          "blk storage: loop: sources need encryption_key=ephemeral",
        );
      }
      const undo: (() => Promise<void>)[] = [];
      const cleanup = async () => {
        for (const u of undo.reverse()) await u().catch(() => {});
        undo.length = 0;
      };
      try {
        const dev = await blockDevice(storage.source, ctx, run, undo);
        let fsDev = dev;
        if (key === "ephemeral") fsDev = await luksEphemeral(dev, ctx, run, undo);
        await Deno.mkdir(mp, { recursive: true });
        await ctx.mounter.mount(fsDev, mp, storage.fstype || "ext4", storage.options);
        undo.push(() => ctx.mounter.umount(mp));
      } catch (err) {
        await cleanup();
        throw err;
      }
      return { driver: storage.driver, mountPoint: mp, shared: storage.shared, cleanup };
    },
  };
}

async function luksEphemeral(
  dev: string,
  ctx: StorageContext,
  run: ToolRunner,
  undo: (() => Promise<void>)[],
): Promise<string> {
  const name = `coco-eph-${crypto.randomUUID().slice(0, 8)}`;
  const dir = join(ctx.paths.sandbox, "luks-headers");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const header = join(dir, `${name}.header`);
  undo.push(() => Deno.remove(header));
  const keyBytes = crypto.getRandomValues(new Uint8Array(64));
  // The key is random and used once: a slow KDF adds nothing (and argon2 under TCG takes long).
  await run("cryptsetup", [
    "luksFormat",
    "--batch-mode",
    "--type",
    "luks2",
    "--cipher",
    "aes-xts-plain64",
    "--pbkdf",
    "pbkdf2",
    "--pbkdf-force-iterations",
    "1000",
    "--header",
    header,
    "--key-file",
    "-",
    dev,
  ], keyBytes);
  await run("cryptsetup", ["open", "--header", header, "--key-file", "-", dev, name], keyBytes);
  keyBytes.fill(0);
  undo.push(async () => void await run("cryptsetup", ["close", name]));
  const mapped = `/dev/mapper/${name}`;
  await run("mke2fs", ["-q", mapped]);
  ctx.logger.info("ephemeral encrypted storage ready", { device: dev, mapper: mapped });
  return mapped;
}
