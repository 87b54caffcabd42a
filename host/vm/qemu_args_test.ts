import assert from "node:assert/strict";
import {
  DEFAULT_HYPERVISOR,
  type HypervisorConfig,
  parseHypervisorConfig,
  VmConfigError,
} from "./config.ts";
import { qemuArgs } from "./qemu_args.ts";

const inst = { id: "sb1", runDir: "/run/coco/sb1" };
const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const allAfter = (args: string[], flag: string) =>
  args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

Deno.test("qemu args: TCG dev VM with virtio-serial agent channel and no network", () => {
  const args = qemuArgs(DEFAULT_HYPERVISOR, inst, "tcg");
  assert.equal(argAfter(args, "-machine"), "q35,accel=tcg");
  assert.equal(argAfter(args, "-cpu"), "max");
  assert.equal(argAfter(args, "-m"), "1024M");
  assert.ok(args.includes("-nodefaults") && args.includes("-no-reboot"));
  assert.ok(
    allAfter(args, "-chardev").includes(
      "socket,id=agentch,path=/run/coco/sb1/agent.sock,server=on,wait=off",
    ),
  );
  assert.ok(
    allAfter(args, "-device").includes("virtserialport,chardev=agentch,name=agent.channel.0"),
  );
  assert.ok(!args.includes("-netdev"), "no network unless forwards are asked for");
  assert.ok(!args.some((a) => a.includes("sev-snp") || a.includes("tdx")));
});

Deno.test("qemu args: guest forwards are loopback-only and restricted", () => {
  const args = qemuArgs(DEFAULT_HYPERVISOR, {
    ...inst,
    forwards: [{ guestAddr: "10.0.2.100", guestPort: 5000, hostPort: 40123 }],
  }, "tcg");
  const nd = argAfter(args, "-netdev")!;
  assert.match(nd, /restrict=on/);
  assert.match(nd, /guestfwd=tcp:10\.0\.2\.100:5000-cmd:busybox nc 127\.0\.0\.1 40123/);
  assert.throws(
    () =>
      qemuArgs(DEFAULT_HYPERVISOR, {
        ...inst,
        forwards: [{ guestAddr: "192.168.1.1", guestPort: 1, hostPort: 2 }],
      }, "tcg"),
    VmConfigError,
  );
});

Deno.test("qemu args: init-data disk is a read-only virtio-blk drive with id initdata", () => {
  const args = qemuArgs(
    DEFAULT_HYPERVISOR,
    { ...inst, initDataDisk: "/run/coco/sb1/initdata.img" },
    "tcg",
  );
  assert.equal(
    argAfter(args, "-drive"),
    "id=initdata,file=/run/coco/sb1/initdata.img,if=none,format=raw,readonly=on",
  );
  assert.throws(
    () => qemuArgs(DEFAULT_HYPERVISOR, { ...inst, initDataDisk: "/x,file=/etc/shadow" }, "tcg"),
    VmConfigError,
  );
});

Deno.test("qemu args: SEV-SNP measured direct boot with HOSTDATA from the init-data digest", () => {
  const hv: HypervisorConfig = {
    ...DEFAULT_HYPERVISOR,
    tee: "snp",
    firmware: "/usr/share/ovmf/AMDSEV.fd",
    accel: "kvm",
  };
  const digest = new Uint8Array(32).fill(0xab);
  const args = qemuArgs(hv, { ...inst, initDataDigest: digest }, "kvm");
  assert.equal(
    argAfter(args, "-machine"),
    "q35,accel=kvm,kernel_irqchip=split,confidential-guest-support=snp,memory-backend=ram1",
  );
  assert.equal(argAfter(args, "-cpu"), "EPYC-v4,pmu=off");
  assert.equal(argAfter(args, "-bios"), "/usr/share/ovmf/AMDSEV.fd");
  const snp = allAfter(args, "-object").find((o) => o.startsWith("sev-snp-guest"))!;
  assert.match(snp, /kernel-hashes=on/);
  assert.match(snp, /cbitpos=51/);
  assert.match(snp, /policy=0x30000/);
  assert.ok(snp.includes(`host-data=${digest.toBase64()}`));
  assert.throws(() => qemuArgs(hv, inst, "tcg"), /needs KVM/);
});

Deno.test("qemu args: TDX with MRCONFIGID (48 bytes) and the QGS socket", () => {
  const hv: HypervisorConfig = {
    ...DEFAULT_HYPERVISOR,
    tee: "tdx",
    firmware: "/usr/share/ovmf/OVMF.inteltdx.fd",
    accel: "kvm",
    tdxQgsSocket: "/var/run/tdx-qgs/qgs.socket",
  };
  const digest = new Uint8Array(48).fill(1);
  const args = qemuArgs(hv, { ...inst, initDataDigest: digest }, "kvm");
  const tdx = JSON.parse(allAfter(args, "-object").find((o) => o.includes("tdx-guest"))!);
  assert.equal(tdx.mrconfigid, digest.toBase64());
  assert.deepEqual(tdx["quote-generation-socket"], {
    type: "unix",
    path: "/var/run/tdx-qgs/qgs.socket",
  });
  assert.match(argAfter(args, "-machine")!, /confidential-guest-support=tdx/);
  // A sha256 digest is zero-padded to 48 bytes.
  const short = qemuArgs(hv, { ...inst, initDataDigest: new Uint8Array(32).fill(2) }, "kvm");
  const t2 = JSON.parse(allAfter(short, "-object").find((o) => o.includes("tdx-guest"))!);
  assert.equal(Uint8Array.fromBase64(t2.mrconfigid).length, 48);
});

Deno.test("qemu args: vsock channel and unsafe sandbox ids", () => {
  const hv: HypervisorConfig = {
    ...DEFAULT_HYPERVISOR,
    channel: { type: "vsock", cid: 7, port: 1024 },
  };
  const args = qemuArgs(hv, inst, "kvm");
  assert.ok(allAfter(args, "-device").includes("vhost-vsock-pci,id=vsock0,guest-cid=7"));
  assert.equal(argAfter(args, "-cpu"), "host,pmu=off");
  assert.throws(() => qemuArgs(hv, { ...inst, id: "../x" }, "kvm"), VmConfigError);
});

Deno.test("hypervisor config: defaults, overrides and clear errors", () => {
  assert.deepEqual(parseHypervisorConfig(undefined), DEFAULT_HYPERVISOR);
  const c = parseHypervisorConfig({
    memory_mib: 2048,
    vcpus: 1,
    accel: "tcg",
    channel: "vsock",
    vsock_cid: 9,
  });
  assert.equal(c.memoryMiB, 2048);
  assert.deepEqual(c.channel, { type: "vsock", cid: 9, port: 1024 });
  const bad = (raw: unknown, re: RegExp) => assert.throws(() => parseHypervisorConfig(raw), re);
  bad({ memory_mib: 1 }, /memory_mib/);
  bad({ accel: "hvf" }, /accel/);
  bad({ tee: "snp" }, /firmware/);
  bad({ tee: "tdx", firmware: "/f", accel: "tcg" }, /needs accel = "kvm"/);
  bad({ kernal: "/typo" }, /kernal is not a known setting/);
});

Deno.test("qemu args: a socket path over the unix limit is refused up front", () => {
  const long = `/var/lib/some/long/runtime/dir/${"a".repeat(64)}/vm`;
  assert.throws(
    () => qemuArgs(DEFAULT_HYPERVISOR, { id: "sb1", runDir: long }, "tcg"),
    (e: unknown) => e instanceof VmConfigError && /longer than 107 bytes/.test(e.message),
  );
  qemuArgs(DEFAULT_HYPERVISOR, { id: "sb1", runDir: `/run/coco-host/${"a".repeat(64)}/vm` }, "tcg");
});
