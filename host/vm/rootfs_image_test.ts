import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_HYPERVISOR, parseHypervisorConfig, VmConfigError } from "./config.ts";
import { qemuArgs } from "./qemu_args.ts";
import {
  formatVerityParams,
  parseVerityParams,
  resolveRootfsImage,
  rootfsKernelParam,
  type VerityParams,
} from "./rootfs_image.ts";

const PARAMS: VerityParams = {
  rootHash: "ab".repeat(32),
  salt: "01".repeat(32),
  dataBlocks: 1000,
  dataBlockSize: 4096,
  hashBlockSize: 4096,
  hashOffset: 4096000,
};

const bad = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof VmConfigError && re.test(e.message));

Deno.test("verity params: Kata syntax round-trips; hostile values are refused", () => {
  assert.deepEqual(parseVerityParams(formatVerityParams(PARAMS)), PARAMS);
  assert.deepEqual(
    parseVerityParams(`root_hash=${"AB".repeat(32)},salt=0101,data_blocks=8,hash_offset=32768`),
    { ...PARAMS, salt: "0101", dataBlocks: 8, hashOffset: 32768 },
  );
  const base = formatVerityParams(PARAMS);
  bad(
    () => parseVerityParams(base.replace(/root_hash=\w+/, "root_hash=abc")),
    /root_hash must be hex/,
  );
  bad(() => parseVerityParams(base.replace(/salt=\w+/, "salt=zz")), /salt must be hex/);
  bad(() => parseVerityParams(`${base},extra=1`), /unknown key extra/);
  bad(() => parseVerityParams(base.replace("data_blocks=1000", "data_blocks=-1")), /non-negative/);
  bad(
    () => parseVerityParams(base.replace("data_block_size=4096", "data_block_size=3000")),
    /power of two/,
  );
  bad(
    () => parseVerityParams(base.replace("hash_offset=4096000", "hash_offset=4095999")),
    /overlaps/,
  );
  bad(() => parseVerityParams("root_hash"), /not key=value/);
  // Spaces or shell characters cannot reach the kernel command line.
  bad(
    () => parseVerityParams(base.replace(/salt=\w+/, "salt=00 init=/bin/sh")),
    /salt must be hex/,
  );
});

Deno.test("the rootfs disk and its verity parameter reach QEMU and the kernel command line", () => {
  const inst = {
    id: "sb1",
    runDir: "/run/coco/sb1",
    rootfs: { path: "/img/rootfs.img", verity: PARAMS },
  };
  const args = qemuArgs(DEFAULT_HYPERVISOR, inst, "tcg");
  assert.ok(args.includes("id=rootfs,file=/img/rootfs.img,if=none,format=raw,readonly=on"));
  assert.ok(args.includes("virtio-blk-pci,drive=rootfs,serial=coco-rootfs"));
  const cmdline = args[args.indexOf("-append") + 1]!;
  assert.match(
    cmdline,
    new RegExp(`coco\\.rootfs=verity:${"ab".repeat(32)}:${"01".repeat(32)}:1000:4096:4096:4096000`),
  );
  assert.equal(rootfsKernelParam({ path: "/x" }), "coco.rootfs=plain");
  assert.throws(() => qemuArgs(DEFAULT_HYPERVISOR, { ...inst, rootfs: { path: "/a,b" } }, "tcg"));
  const none = qemuArgs(DEFAULT_HYPERVISOR, { id: "sb1", runDir: "/run/coco/sb1" }, "tcg");
  assert.ok(!none.some((a) => a.includes("coco.rootfs") || a.includes("id=rootfs")));
});

Deno.test("image resolution: sibling of the initrd, sidecar params, explicit off, TEE refusal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rootfs-img-" });
  try {
    const initrd = join(dir, "initrd.img");
    const image = join(dir, "rootfs.img");
    await Deno.writeFile(initrd, new Uint8Array(1));
    assert.equal(await resolveRootfsImage({ initrd }, false), undefined);
    await Deno.writeFile(image, new Uint8Array(1));
    assert.deepEqual(await resolveRootfsImage({ initrd }, false), { path: image });
    await bad2(resolveRootfsImage({ initrd }, true), /needs them/);
    await Deno.writeTextFile(`${image}.verity`, formatVerityParams(PARAMS) + "\n");
    assert.deepEqual(await resolveRootfsImage({ initrd }, true), { path: image, verity: PARAMS });
    assert.equal(await resolveRootfsImage({ initrd, image: "" }, false), undefined);
    assert.deepEqual(await resolveRootfsImage({ initrd, verityParams: "" }, false), {
      path: image,
    });
    await bad2(
      resolveRootfsImage({ initrd, image: join(dir, "missing.img") }, false),
      /not a readable/,
    );
    await Deno.writeTextFile(`${image}.verity`, "root_hash=00");
    await bad2(resolveRootfsImage({ initrd }, false), /rootfs\.img\.verity: root_hash must be hex/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function bad2(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => e instanceof VmConfigError && re.test(e.message));
}

Deno.test("[hypervisor] image and kernel_verity_params are parsed and checked", () => {
  const c = parseHypervisorConfig({
    image: "/i.img",
    kernel_verity_params: formatVerityParams(PARAMS),
  });
  assert.equal(c.image, "/i.img");
  assert.equal(c.verityParams, formatVerityParams(PARAMS));
  assert.equal(parseHypervisorConfig({ image: "" }).image, "");
  bad(
    () => parseHypervisorConfig({ kernel_verity_params: "root_hash=1" }),
    /root_hash must be hex/,
  );
  bad(() => parseHypervisorConfig({ image: 3 }), /image must be a string/);
});
