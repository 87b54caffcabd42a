/**
 * The QEMU command line for a pod VM (spec/runtime.md §8): q35 with KVM or TCG, direct kernel
 * boot, the agent channel (virtio-serial port or vhost-vsock), the init-data disk, loopback-only
 * user networking (`restrict=on` + `guestfwd`), and the SEV-SNP / TDX variants with measured
 * direct boot and the init-data digest in HOSTDATA / MRCONFIGID. Pure: no I/O, unit-tested.
 *
 * @module
 */
import { ROOTFS_SERIAL, rootfsKernelParam } from "./rootfs_image.ts";
import { digestForField } from "@coco/lib/initdata";
import type { HypervisorConfig, VmInstance } from "./config.ts";
import { VmConfigError } from "./config.ts";

/** Files of a running VM inside its run directory. */
export function vmPaths(runDir: string) {
  return {
    agentSocket: `${runDir}/agent.sock`,
    console: `${runDir}/console.log`,
    qmp: `${runDir}/qmp.sock`,
    pid: `${runDir}/qemu.pid`,
  };
}

const GUEST_ADDR = /^10\.0\.2\.(\d{1,3})$/;

function netdev(inst: VmInstance): string[] {
  const fwd = inst.forwards ?? [];
  if (fwd.length === 0) return [];
  const parts = ["user", "id=net0", "restrict=on", "ipv6=off", "net=10.0.2.0/24"];
  for (const f of fwd) {
    const m = f.guestAddr.match(GUEST_ADDR);
    if (!m || Number(m[1]) > 254) {
      throw new VmConfigError(
        "invalid-vm-config",
        `guest forward address ${f.guestAddr} must be in 10.0.2.0/24`,
      );
    }
    for (const p of [f.guestPort, f.hostPort]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) {
        throw new VmConfigError("invalid-vm-config", `guest forward port ${p} is out of range`);
      }
    }
    // Each guest connection runs a loopback-only netcat on the host; nothing leaves the machine.
    parts.push(`guestfwd=tcp:${f.guestAddr}:${f.guestPort}-cmd:busybox nc 127.0.0.1 ${f.hostPort}`);
  }
  return ["-netdev", parts.join(","), "-device", "virtio-net-pci,netdev=net0"];
}

function teeArgs(hv: HypervisorConfig, inst: VmInstance): { machine: string[]; args: string[] } {
  if (hv.tee === "none") return { machine: [], args: [] };
  if (!hv.firmware) {
    throw new VmConfigError("invalid-vm-config", `firmware is required for ${hv.tee}`);
  }
  const args = ["-bios", hv.firmware];
  if (hv.tee === "snp") {
    const obj = [
      "sev-snp-guest",
      "id=snp",
      `cbitpos=${hv.snpCbitpos ?? 51}`,
      "reduced-phys-bits=1",
      "kernel-hashes=on",
      `policy=0x${(hv.snpPolicy ?? 0x30000).toString(16)}`,
    ];
    if (inst.initDataDigest) {
      obj.push(`host-data=${digestForField(inst.initDataDigest, 32).toBase64()}`);
    }
    args.push(
      "-object",
      `memory-backend-memfd,id=ram1,size=${hv.memoryMiB}M,share=true,prealloc=false`,
      "-object",
      obj.join(","),
    );
    return {
      machine: ["kernel_irqchip=split", "confidential-guest-support=snp", "memory-backend=ram1"],
      args,
    };
  }
  const tdx: Record<string, unknown> = { "qom-type": "tdx-guest", id: "tdx" };
  if (inst.initDataDigest) tdx.mrconfigid = digestForField(inst.initDataDigest, 48).toBase64();
  tdx["quote-generation-socket"] = hv.tdxQgsSocket
    ? { type: "unix", path: hv.tdxQgsSocket }
    : { type: "vsock", cid: "2", port: "4050" };
  args.push("-object", JSON.stringify(tdx));
  return { machine: ["kernel_irqchip=split", "confidential-guest-support=tdx"], args };
}

function cpuModel(hv: HypervisorConfig, accel: "kvm" | "tcg"): string {
  if (accel === "tcg") return "max";
  if (hv.tee === "snp") return "EPYC-v4,pmu=off";
  return "host,pmu=off";
}

/** Argument vector (without the QEMU binary) for one VM; `accel` is already resolved. */
export function qemuArgs(hv: HypervisorConfig, inst: VmInstance, accel: "kvm" | "tcg"): string[] {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(inst.id)) {
    throw new VmConfigError(
      "invalid-vm-config",
      `sandbox id ${JSON.stringify(inst.id)} is not a safe name`,
    );
  }
  if (hv.tee !== "none" && accel !== "kvm") {
    throw new VmConfigError("invalid-vm-config", `${hv.tee} needs KVM; TCG cannot run a TEE`);
  }
  const p = vmPaths(inst.runDir);
  for (const sock of [p.agentSocket, p.qmp]) {
    // sun_path holds 108 bytes with its NUL: QEMU would fail later with a vaguer message.
    if (new TextEncoder().encode(sock).length > 107) {
      throw new VmConfigError(
        "invalid-vm-config",
        `socket path ${sock} is longer than 107 bytes (a unix socket's limit): use a shorter ` +
          "runtime directory (CRI sandbox ids are 64 characters)",
      );
    }
  }
  const tee = teeArgs(hv, inst);
  const machine = ["q35", `accel=${accel}`, ...tee.machine].join(",");
  const cmdline = [
    hv.kernelParams,
    inst.rootfs ? rootfsKernelParam(inst.rootfs) : "",
    inst.extraKernelParams ?? "",
  ].filter(Boolean).join(" ");
  const args = [
    "-name",
    `sandbox-${inst.id}`,
    "-machine",
    machine,
    "-cpu",
    cpuModel(hv, accel),
    "-m",
    `${hv.memoryMiB}M`,
    "-smp",
    String(hv.vcpus),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-serial",
    `file:${p.console}`,
    "-qmp",
    `unix:${p.qmp},server=on,wait=off`,
    "-pidfile",
    p.pid,
    "-object",
    "rng-random,id=rng0,filename=/dev/urandom",
    "-device",
    "virtio-rng-pci,rng=rng0",
    "-kernel",
    hv.kernel,
    "-initrd",
    hv.initrd,
    "-append",
    cmdline,
    ...tee.args,
  ];
  if (hv.channel.type === "serial") {
    args.push(
      "-device",
      "virtio-serial-pci,id=serial0",
      "-chardev",
      `socket,id=agentch,path=${p.agentSocket},server=on,wait=off`,
      "-device",
      `virtserialport,chardev=agentch,name=${hv.channel.name}`,
    );
  } else {
    args.push("-device", `vhost-vsock-pci,id=vsock0,guest-cid=${hv.channel.cid}`);
  }
  if (inst.rootfs) {
    if (inst.rootfs.path.includes(",")) {
      throw new VmConfigError("invalid-vm-config", "rootfs image path must not contain a comma");
    }
    args.push(
      "-drive",
      `id=rootfs,file=${inst.rootfs.path},if=none,format=raw,readonly=on`,
      "-device",
      `virtio-blk-pci,drive=rootfs,serial=${ROOTFS_SERIAL}`,
    );
  }
  if (inst.initDataDisk) {
    if (inst.initDataDisk.includes(",")) {
      throw new VmConfigError("invalid-vm-config", "init-data disk path must not contain a comma");
    }
    args.push(
      "-drive",
      `id=initdata,file=${inst.initDataDisk},if=none,format=raw,readonly=on`,
      "-device",
      "virtio-blk-pci,drive=initdata",
    );
  }
  args.push(...netdev(inst));
  return args;
}

/** Kernel parameters that tell the agent which channel to serve (parsed by `coco-guest agent`). */
export function agentChannelParam(hv: HypervisorConfig): string {
  return hv.channel.type === "serial"
    ? `agent.channel=serial:${hv.channel.name}`
    : `agent.channel=vsock:${hv.channel.port}`;
}
