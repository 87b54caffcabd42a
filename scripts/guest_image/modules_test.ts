import assert from "node:assert/strict";
import {
  loadOrder,
  moduleName,
  modulesDepSubset,
  parseModulesBuiltin,
  parseModulesDep,
} from "./modules.ts";

const DEP = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/md/dm-mod.ko:
kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko
`;

Deno.test("guest modules: dependencies load first, each once, dashes and underscores equal", () => {
  const dep = parseModulesDep(DEP);
  assert.equal(moduleName("kernel/drivers/md/dm-crypt.ko"), "dm_crypt");
  const order = loadOrder(dep, new Set(), ["virtio_pci", "virtio_console", "dm-crypt"]);
  assert.deepEqual(order, [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/drivers/char/virtio_console.ko",
    "kernel/drivers/md/dm-mod.ko",
    "kernel/drivers/md/dm-crypt.ko",
  ]);
});

Deno.test("guest modules: built-in modules are skipped, unknown ones are an error, optional ones ignored", () => {
  const dep = parseModulesDep(DEP);
  const builtin = parseModulesBuiltin("kernel/drivers/char/tpm/tpm_crb.ko\n");
  assert.deepEqual(loadOrder(dep, builtin, ["tpm_crb"]), []);
  assert.throws(() => loadOrder(dep, builtin, ["nosuch"]), /nosuch not found/);
  assert.deepEqual(loadOrder(dep, builtin, [], ["sev_guest", "dm_mod"]), [
    "kernel/drivers/md/dm-mod.ko",
  ]);
});

Deno.test("modulesDepSubset() keeps only the lines of included modules", () => {
  const sub = modulesDepSubset(DEP, [
    "kernel/drivers/md/dm-mod.ko",
    "kernel/drivers/md/dm-crypt.ko",
  ]);
  assert.equal(
    sub,
    "kernel/drivers/md/dm-mod.ko:\nkernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko\n",
  );
});
