/**
 * The dm-verity root filesystem in a real pod VM (QEMU, TCG here): one byte changed in the image
 * (the ext4 volume label, which ext4 itself never checks) and the guest refuses to run from it —
 * the kernel reports the corrupted block, the stage-1 init powers the VM off, and the agent never
 * starts. The untampered image boots the agent in every other VM test.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_HYPERVISOR, PodVm } from "../../host/vm/mod.ts";
import { runDeno } from "../harness.ts";
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GUEST = join(ROOT, "dist/guest");
const hasKernel = () => {
  try {
    return [...Deno.readDirSync("/boot")].some((e) => e.name.startsWith("vmlinuz-"));
  } catch {
    return false;
  }
};
const peers = requireAlso(
  requireAlso(
    findPeers("qemu-system-x86_64", "mkfs.ext4", "veritysetup", "busybox", "runc", "cpio"),
    isRoot(),
    "needs root (the image build makes device nodes)",
  ),
  hasKernel(),
  "no Debian kernel in /boot for the guest image (apt-get install linux-image-amd64)",
);

Deno.test({
  name: "a tampered rootfs image is refused by dm-verity: the VM powers off, no agent starts",
  ...skipUnless(peers, "dm-verity rootfs in a VM"),
  fn: async () => {
    const build = await runDeno(["run", "-A", join(ROOT, "scripts/build_guest_image.ts")]);
    assert.equal(build.code, 0, build.stderr);
    const work = await Deno.makeTempDir({ prefix: "vm-rootfs-" });
    let vm: PodVm | undefined;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    try {
      const image = join(work, "rootfs.img");
      await Deno.copyFile(join(GUEST, "rootfs.img"), image);
      await Deno.copyFile(join(GUEST, "rootfs.img.verity"), `${image}.verity`);
      // ext4 superblock at 1024, volume label at +120: "cocoroot" becomes "cocoroou".
      const f = await Deno.open(image, { read: true, write: true });
      const label = new Uint8Array(8);
      await f.seek(1024 + 120, Deno.SeekMode.Start);
      await f.read(label);
      assert.equal(new TextDecoder().decode(label), "cocoroot");
      await f.seek(1024 + 127, Deno.SeekMode.Start);
      await f.write(new TextEncoder().encode("u"));
      f.close();
      vm = await PodVm.start(
        {
          ...DEFAULT_HYPERVISOR,
          kernel: join(GUEST, "vmlinuz"),
          initrd: join(GUEST, "initrd.img"),
          image,
        },
        { id: "vm-rootfs", runDir: join(work, "vm") },
      );
      const theVm = vm;
      watchdog = setTimeout(() => theVm.killNow(), 180_000);
      await vm.exited;
      const console = await Deno.readTextFile(vm.paths.console);
      assert.match(console, /device-mapper: verity: .*data block 0 is corrupted/);
      assert.match(console, /coco-init: cannot mount \/dev\/mapper\/cocoroot/);
      assert.doesNotMatch(console, /starting the agent/);
    } finally {
      clearTimeout(watchdog);
      if (vm) await vm.stop(1000).catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
});
