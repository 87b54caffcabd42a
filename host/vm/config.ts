/**
 * Pod VM configuration: what the shim needs to boot a guest (hypervisor, kernel, initrd,
 * memory, vCPUs, accelerator, agent channel, TEE type) — parsed from the `[hypervisor]` table of
 * the host TOML config, with defaults that match the guest image `scripts/build-guest-image`
 * writes.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import { parseVerityParams, type RootfsImage } from "./rootfs_image.ts";

export class VmConfigError extends CodedError<"invalid-vm-config"> {}

/** Accelerator: `auto` uses KVM when a probe VM starts, TCG otherwise. */
export type Accel = "auto" | "kvm" | "tcg";
/** Confidential hardware the VM is launched with. */
export type VmTee = "none" | "snp" | "tdx";

/** How the host reaches the agent. */
export type AgentChannel =
  | { type: "serial"; name: string }
  | { type: "vsock"; cid: number; port: number };

/** A TCP service on the host's loopback that the guest may reach at `guestAddr:guestPort`. */
export interface GuestForward {
  guestAddr: string;
  guestPort: number;
  hostPort: number;
}

/** Static settings (from the config file). */
export interface HypervisorConfig {
  qemuPath: string;
  kernel: string;
  initrd: string;
  /** Kernel command line; agent parameters are appended per sandbox. */
  kernelParams: string;
  /** Root filesystem image (rootfs_image.ts): unset = `rootfs.img` next to the initrd if any. */
  image?: string;
  /** dm-verity parameters of `image` (Kata syntax); unset = `<image>.verity` if any. */
  verityParams?: string;
  memoryMiB: number;
  vcpus: number;
  accel: Accel;
  channel: AgentChannel;
  tee: VmTee;
  /** OVMF image for SNP/TDX (measured direct boot). */
  firmware?: string;
  /** SNP guest policy (default 0x30000: SMT allowed, debug off). */
  snpPolicy?: number;
  /** C-bit position for SNP (51 on Milan/Genoa). */
  snpCbitpos?: number;
  /** TDX quote generation service socket. */
  tdxQgsSocket?: string;
}

/** Per-sandbox settings decided at start. */
export interface VmInstance {
  id: string;
  /** Directory for the agent socket, console log, QMP socket. */
  runDir: string;
  /** Raw init-data disk image path, when the pod has init-data. */
  initDataDisk?: string;
  /** Init-data digest for HOSTDATA / MRCONFIGID. */
  initDataDigest?: Uint8Array;
  forwards?: GuestForward[];
  /** Extra kernel parameters (agent.* …). */
  extraKernelParams?: string;
  /** The resolved root filesystem disk, when the VM boots from one. */
  rootfs?: RootfsImage;
}

/** Defaults matching `dist/guest` from `scripts/build-guest-image`. */
export const DEFAULT_HYPERVISOR: HypervisorConfig = {
  qemuPath: "qemu-system-x86_64",
  kernel: "dist/guest/vmlinuz",
  initrd: "dist/guest/initrd.img",
  kernelParams: "console=ttyS0 rdinit=/init panic=-1 quiet",
  memoryMiB: 1024,
  vcpus: 2,
  accel: "auto",
  channel: { type: "serial", name: "agent.channel.0" },
  tee: "none",
};

function num(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new VmConfigError(
      "invalid-vm-config",
      `hypervisor.${name} must be an integer in [${min}, ${max}]`,
    );
  }
  return v;
}

function optText(v: unknown, name: string): string {
  if (typeof v !== "string") {
    throw new VmConfigError("invalid-vm-config", `hypervisor.${name} must be a string`);
  }
  return v;
}

function text(v: unknown, name: string): string {
  if (typeof v !== "string" || v === "") {
    throw new VmConfigError("invalid-vm-config", `hypervisor.${name} must be a non-empty string`);
  }
  return v;
}

/** Parses the `[hypervisor]` table (snake_case keys as in the example config). */
export function parseHypervisorConfig(raw: unknown): HypervisorConfig {
  if (raw === undefined) return { ...DEFAULT_HYPERVISOR };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new VmConfigError("invalid-vm-config", "[hypervisor] must be a table");
  }
  const o = raw as Record<string, unknown>;
  const known = new Set([
    "path",
    "kernel",
    "initrd",
    "kernel_params",
    "image",
    "kernel_verity_params",
    "memory_mib",
    "vcpus",
    "accel",
    "channel",
    "vsock_cid",
    "vsock_port",
    "tee",
    "firmware",
    "snp_policy",
    "snp_cbitpos",
    "tdx_qgs_socket",
  ]);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) {
      throw new VmConfigError("invalid-vm-config", `hypervisor.${k} is not a known setting`);
    }
  }
  const c: HypervisorConfig = { ...DEFAULT_HYPERVISOR };
  if (o.path !== undefined) c.qemuPath = text(o.path, "path");
  if (o.kernel !== undefined) c.kernel = text(o.kernel, "kernel");
  if (o.initrd !== undefined) c.initrd = text(o.initrd, "initrd");
  if (o.kernel_params !== undefined) c.kernelParams = text(o.kernel_params, "kernel_params");
  if (o.image !== undefined) c.image = optText(o.image, "image");
  if (o.kernel_verity_params !== undefined) {
    c.verityParams = optText(o.kernel_verity_params, "kernel_verity_params");
    if (c.verityParams) parseVerityParams(c.verityParams);
  }
  if (o.memory_mib !== undefined) c.memoryMiB = num(o.memory_mib, "memory_mib", 128, 1 << 20);
  if (o.vcpus !== undefined) c.vcpus = num(o.vcpus, "vcpus", 1, 256);
  if (o.accel !== undefined) {
    if (!["auto", "kvm", "tcg"].includes(o.accel as string)) {
      throw new VmConfigError("invalid-vm-config", "hypervisor.accel must be auto, kvm or tcg");
    }
    c.accel = o.accel as Accel;
  }
  if (o.channel !== undefined) {
    if (o.channel === "serial") c.channel = { type: "serial", name: "agent.channel.0" };
    else if (o.channel === "vsock") {
      c.channel = {
        type: "vsock",
        cid: o.vsock_cid === undefined ? 3 : num(o.vsock_cid, "vsock_cid", 3, 0xffffffff - 1),
        port: o.vsock_port === undefined ? 1024 : num(o.vsock_port, "vsock_port", 1, 0xffffffff),
      };
    } else {throw new VmConfigError(
        "invalid-vm-config",
        "hypervisor.channel must be serial or vsock",
      );}
  }
  if (o.tee !== undefined) {
    if (!["none", "snp", "tdx"].includes(o.tee as string)) {
      throw new VmConfigError("invalid-vm-config", "hypervisor.tee must be none, snp or tdx");
    }
    c.tee = o.tee as VmTee;
  }
  if (o.firmware !== undefined) c.firmware = text(o.firmware, "firmware");
  if (o.snp_policy !== undefined) c.snpPolicy = num(o.snp_policy, "snp_policy", 0, 2 ** 53);
  if (o.snp_cbitpos !== undefined) c.snpCbitpos = num(o.snp_cbitpos, "snp_cbitpos", 1, 63);
  if (o.tdx_qgs_socket !== undefined) c.tdxQgsSocket = text(o.tdx_qgs_socket, "tdx_qgs_socket");
  if (c.tee !== "none") {
    if (!c.firmware) {
      throw new VmConfigError(
        "invalid-vm-config",
        `hypervisor.firmware (OVMF) is required for tee = "${c.tee}"`,
      );
    }
    if (c.accel === "tcg") {
      throw new VmConfigError(
        "invalid-vm-config",
        `tee = "${c.tee}" needs accel = "kvm" (TCG cannot run a TEE)`,
      );
    }
  }
  return c;
}
