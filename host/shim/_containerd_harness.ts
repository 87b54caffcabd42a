/**
 * Test and bench support (not used by the shim): a private containerd 1.6 under a temp dir
 * (own root, state, sockets; spec/peers.md item 1) stopped by PID, a tiny busybox OCI archive
 * built with umoci + skopeo, and a launcher script that runs this checkout's shim.
 */
import { terminate } from "../../tests/harness.ts";
import { join } from "node:path";
import { forEachLine } from "@coco/lib/lines";

/** A running private containerd. */
export interface PrivateContainerd {
  dir: string;
  socket: string;
  /** Runs `ctr -a <socket> <args>`. */
  ctr(args: string[], stdin?: "null"): Promise<{ code: number; stdout: string; stderr: string }>;
  log(): string;
  stop(): Promise<void>;
}

/** Extras for {@linkcode startContainerd}. */
export interface ContainerdOptions {
  /** TOML appended to the generated config (CRI sub-tables, `[proxy_plugins.*]`). */
  extraConfig?: string;
  /** Environment added for containerd and `ctr` (e.g. a PATH holding `nydus-overlayfs`). */
  env?: Record<string, string>;
}

/**
 * Starts containerd with its own directories under `dir`; resolves when it has booted.
 * `options.extraConfig` is appended to the config; `options.env` reaches containerd and `ctr`.
 */
export async function startContainerd(
  dir: string,
  options: ContainerdOptions = {},
): Promise<PrivateContainerd> {
  const cfg = join(dir, "containerd.toml");
  const socket = join(dir, "containerd.sock");
  await Deno.writeTextFile(
    cfg,
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = "${dir}/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
${options.extraConfig ?? ""}`,
  );
  const child = new Deno.Command("containerd", {
    args: ["--config", cfg],
    env: options.env ?? {},
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let ready!: () => void;
  const booted = new Promise<void>((r) => ready = r);
  const pump = forEachLine(child.stderr, (l) => {
    if (lines.length < 5000) lines.push(l);
    if (l.includes("containerd successfully booted")) ready();
  });
  const stop = async () => {
    await terminate(child);
    await pump;
  };
  const exited = child.status.then(() => {
    throw new Error(`containerd exited before it booted:\n${lines.join("\n")}`);
  });
  try {
    await Promise.race([booted, exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  exited.catch(() => {});
  return {
    dir,
    socket,
    async ctr(args) {
      const out = await new Deno.Command("ctr", {
        args: ["-a", socket, ...args],
        env: options.env ?? {},
        stdin: "null",
      }).output();
      const d = new TextDecoder();
      return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
    },
    log: () => lines.join("\n"),
    stop,
  };
}

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    ...(cwd ? { cwd } : {}),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Builds `busybox-oci.tar` (oci-archive, tag docker.io/library/tinybusybox:latest) in `dir`. */
export async function buildBusyboxArchive(dir: string, busybox: string): Promise<string> {
  await run("umoci", ["init", "--layout", "oci"], dir);
  await run("umoci", ["new", "--image", "oci:busybox"], dir);
  await run("umoci", ["unpack", "--image", "oci:busybox", "bundle"], dir);
  const rootfs = join(dir, "bundle/rootfs");
  for (const d of ["bin", "tmp", "etc", "proc", "sys", "dev"]) {
    await Deno.mkdir(join(rootfs, d), { recursive: true });
  }
  await Deno.copyFile(busybox, join(rootfs, "bin/busybox"));
  for (const a of ["sh", "echo", "cat", "ls", "sleep", "true"]) {
    await Deno.symlink("busybox", join(rootfs, "bin", a));
  }
  await run("umoci", ["repack", "--image", "oci:busybox", "bundle"], dir);
  await run("umoci", [
    "config",
    "--image",
    "oci:busybox",
    "--config.cmd=/bin/sh",
    "--config.env",
    "PATH=/bin",
    "--os",
    "linux",
    "--architecture",
    "amd64",
  ], dir);
  await run("umoci", ["tag", "--image", "oci:busybox", "latest"], dir);
  const tar = join(dir, "busybox-oci.tar");
  await run("skopeo", [
    "copy",
    "oci:oci:latest",
    `oci-archive:${tar}:docker.io/library/tinybusybox:latest`,
  ], dir);
  await Deno.remove(join(dir, "bundle"), { recursive: true });
  return tar;
}

/** Writes an executable `containerd-shim-coco-v2` launcher for this checkout. */
export async function writeLauncher(
  dir: string,
  configFile: string,
  entry: string,
): Promise<string> {
  const path = join(dir, "containerd-shim-coco-v2");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nexport COCO_SHIM_CONFIG=${JSON.stringify(configFile)}\nexec ${
      JSON.stringify(Deno.execPath())
    } run -A ${JSON.stringify(entry)} shim "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}
