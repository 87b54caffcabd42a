/**
 * Starting and stopping a pod VM: resolves the accelerator (KVM when a probe VM can start, TCG
 * otherwise), spawns QEMU, waits for the agent channel socket, and kills and reaps QEMU on every
 * exit path — `stop()`, a crash of QEMU, or this process exiting (unload and signal handlers).
 *
 * @module
 */
import { resolveRootfsImage } from "./rootfs_image.ts";
import { CodedError } from "@coco/lib/errors";
import type { HypervisorConfig, VmInstance } from "./config.ts";
import { agentChannelParam, qemuArgs, vmPaths } from "./qemu_args.ts";

export class PodVmError extends CodedError<"vm-start" | "vm-exited"> {}

const probeCache = new Map<string, Promise<"kvm" | "tcg">>();

/**
 * Whether KVM really works: starts a paused VM with `-accel kvm` and asks it to quit. Hosts
 * with `/dev/kvm` that cannot run guests (nested or PVM setups) fail here in milliseconds.
 */
export function resolveAccel(hv: HypervisorConfig): Promise<"kvm" | "tcg"> {
  if (hv.accel !== "auto") return Promise.resolve(hv.accel);
  let p = probeCache.get(hv.qemuPath);
  if (!p) {
    p = probeKvm(hv.qemuPath).then((ok) => (ok ? "kvm" : "tcg"));
    probeCache.set(hv.qemuPath, p);
  }
  return p;
}

async function probeKvm(qemu: string): Promise<boolean> {
  try {
    await Deno.stat("/dev/kvm");
  } catch {
    return false;
  }
  try {
    const child = new Deno.Command(qemu, {
      args: [
        "-accel",
        "kvm",
        "-machine",
        "q35",
        "-cpu",
        "host",
        "-m",
        "64",
        "-nodefaults",
        "-display",
        "none",
        "-S",
        "-monitor",
        "stdio",
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("quit\n")).catch(() => {});
    await w.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 10_000);
    const st = await child.status;
    clearTimeout(timer);
    return st.success;
  } catch {
    return false;
  }
}

const live = new Set<PodVm>();
let hooksInstalled = false;

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  globalThis.addEventListener("unload", () => {
    for (const vm of live) vm.killNow();
  });
}

/** Kills every VM this process started (for signal handlers of long-running callers). */
export function killAllVms(): void {
  for (const vm of live) vm.killNow();
}

/** Options for {@linkcode PodVm.start}. */
export interface StartOptions {
  /** Give up when the agent socket has not appeared after this long (default 60 s). */
  socketTimeoutMs?: number;
}

/** One running QEMU process for a sandbox. */
export class PodVm {
  readonly accel: "kvm" | "tcg";
  readonly paths: ReturnType<typeof vmPaths>;
  readonly args: string[];
  #child: Deno.ChildProcess;
  #exited: Promise<Deno.CommandStatus>;
  #status: Deno.CommandStatus | undefined;

  private constructor(
    accel: "kvm" | "tcg",
    paths: ReturnType<typeof vmPaths>,
    args: string[],
    child: Deno.ChildProcess,
  ) {
    this.accel = accel;
    this.paths = paths;
    this.args = args;
    this.#child = child;
    this.#exited = child.status.then((s) => {
      this.#status = s;
      live.delete(this);
      return s;
    });
  }

  /** PID of QEMU. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Exit status once QEMU has exited, else undefined. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Resolves when QEMU exits (for any reason). */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }

  /** Boots a VM and waits until the agent channel socket exists. */
  static async start(
    hv: HypervisorConfig,
    inst: VmInstance,
    opts: StartOptions = {},
  ): Promise<PodVm> {
    for (
      const [what, file] of [["kernel", hv.kernel], ["initrd", hv.initrd], [
        "firmware",
        hv.firmware,
      ]]
    ) {
      if (file === undefined) continue;
      try {
        await Deno.stat(file);
      } catch (err) {
        throw new PodVmError("vm-start", `Cannot start the VM: ${what} ${file} is not readable`, {
          cause: err,
        });
      }
    }
    const accel = await resolveAccel(hv);
    const rootfs = await resolveRootfsImage(hv, hv.tee !== "none");
    const withChannel: VmInstance = {
      ...inst,
      ...(rootfs ? { rootfs } : {}),
      extraKernelParams: [agentChannelParam(hv), inst.extraKernelParams ?? ""].filter(Boolean).join(
        " ",
      ),
    };
    const args = qemuArgs(hv, withChannel, accel);
    const paths = vmPaths(inst.runDir);
    await Deno.mkdir(inst.runDir, { recursive: true, mode: 0o700 });
    for (const f of [paths.agentSocket, paths.qmp, paths.pid]) await Deno.remove(f).catch(() => {});
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(hv.qemuPath, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (err) {
      throw new PodVmError("vm-start", `Cannot start ${hv.qemuPath}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    installExitHooks();
    const vm = new PodVm(accel, paths, args, child);
    live.add(vm);
    const stderr = new Response(child.stderr).text();
    const deadline = Date.now() + (opts.socketTimeoutMs ?? 60_000);
    for (;;) {
      if (vm.status) {
        throw new PodVmError(
          "vm-start",
          `QEMU exited (code ${vm.status.code}) during start: ${(await stderr).trim()}`,
        );
      }
      if (hv.channel.type === "vsock") break;
      try {
        if ((await Deno.stat(paths.agentSocket)).isSocket) break;
      } catch { /* not yet */ }
      if (Date.now() > deadline) {
        await vm.stop();
        throw new PodVmError(
          "vm-start",
          `agent channel socket ${paths.agentSocket} did not appear`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    stderr.catch(() => {});
    return vm;
  }

  /** Kills QEMU (SIGTERM, then SIGKILL after `graceMs`) and waits until it is reaped. */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    if (this.#status) return this.#status;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => this.killNow(), graceMs);
    const st = await this.#exited;
    clearTimeout(timer);
    return st;
  }

  /** Synchronous SIGKILL, used from exit hooks. */
  killNow(): void {
    if (this.#status) return;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}
