/**
 * Kernel modules for the pod VM: resolves the modules the guest needs (virtio transport and
 * console, block, net, vsock, overlay, dm-crypt/verity …) with their dependencies from the Debian
 * kernel's `modules.dep`, in load order (dependencies first).
 *
 * @module
 */

/** Modules the guest loads, by name (`-` and `_` are equivalent, as for modprobe). */
export const GUEST_MODULES = [
  "crc32c_generic",
  "virtio_pci",
  "virtio_console",
  "virtio_blk",
  "virtio_net",
  "vmw_vsock_virtio_transport",
  "overlay",
  "dm_crypt",
  "dm_verity",
  "ecb",
  "xts",
  "ext4",
  "loop",
  "erofs",
  "9pnet_virtio",
  "9p",
] as const;

/** Loaded when the kernel has them (confidential-guest drivers appear in newer kernels). */
export const OPTIONAL_MODULES = ["configfs", "sev_guest", "tdx_guest", "tsm"] as const;

const norm = (name: string) => name.replaceAll("-", "_");

/** Module name of a `modules.dep` path (`kernel/drivers/md/dm-crypt.ko` → `dm_crypt`). */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return norm(base.replace(/\.ko(\.(xz|zst|gz))?$/, ""));
}

/** Parses `modules.dep`: module name → { path, deps (paths) }. */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const out = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const path = line.slice(0, i).trim();
    const deps = line.slice(i + 1).trim().split(/\s+/).filter(Boolean);
    out.set(moduleName(path), { path, deps });
  }
  return out;
}

/**
 * Module paths (relative to `/lib/modules/<version>/`) to insmod in order for `wanted`:
 * dependencies before dependents, each once. Modules built into the kernel (absent from
 * `modules.dep` but listed in `modules.builtin`) are skipped; unknown modules are an error.
 */
export function loadOrder(
  dep: Map<string, { path: string; deps: string[] }>,
  builtin: Set<string>,
  wanted: readonly string[],
  optional: readonly string[] = [],
): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    const n = norm(name);
    if (seen.has(n)) return;
    const entry = dep.get(n);
    if (!entry) {
      if (builtin.has(n)) return;
      throw new Error(`kernel module ${name} not found in modules.dep (${chain.join(" → ")})`);
    }
    seen.add(n);
    // modules.dep lists every transitive dependency; visiting each keeps the order right.
    for (const d of entry.deps) visit(moduleName(d), [...chain, n]);
    order.push(entry.path);
  };
  for (const w of wanted) visit(w, [w]);
  for (const o of optional) if (dep.has(norm(o))) visit(o, [o]);
  return order;
}

/** Names from `modules.builtin` (paths of modules compiled into the kernel). */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split("\n").filter(Boolean).map(moduleName));
}

/** The lines of `modules.dep` for the module paths in `included` (the guest's own modules.dep). */
export function modulesDepSubset(text: string, included: readonly string[]): string {
  const keep = new Set(included);
  return text.split("\n").filter((l) => keep.has(l.slice(0, l.indexOf(":")))).join("\n") + "\n";
}
