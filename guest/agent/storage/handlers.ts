/**
 * Storage handlers: `local` (a directory), `ephemeral` (tmpfs), `virtio-fs` and
 * `watchable-bind` (shared directories for volumes), and `image_guest_pull` (the rootfs is
 * pulled inside the guest). Every mount point must resolve inside the agent's directories.
 */
import type { agent } from "@coco/lib/proto";
import { agentError } from "../errors.ts";
import { ensureInside } from "../paths.ts";
import type { MountedStorage, StorageContext, StorageHandler } from "./types.ts";
import { blockHandler } from "./encrypted_block.ts";
import { usePauseBundle } from "./pause_bundle.ts";

async function mountPoint(storage: agent.Storage, ctx: StorageContext): Promise<string> {
  const p = await ensureInside(storage.mountPoint, [ctx.paths.base], "Storage mount_point");
  await Deno.mkdir(p, { recursive: true });
  return p;
}

function option(options: readonly string[], key: string): string | undefined {
  const hit = options.find((o) => o.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
}

function done(storage: agent.Storage, mp: string, cleanup: () => Promise<void>): MountedStorage {
  return { driver: storage.driver, mountPoint: mp, shared: storage.shared, cleanup };
}

/** `local`: mkdir the mount point; `mode=<octal>` and `fsgid=<gid>` options applied. */
export const localHandler: StorageHandler = {
  driver: "local",
  async handle(storage, _cid, ctx) {
    const mp = await mountPoint(storage, ctx);
    const mode = option(storage.options, "mode");
    if (mode !== undefined) {
      if (!/^[0-7]{3,4}$/.test(mode)) {
        throw agentError("invalid-argument", `local storage: mode "${mode}" is not octal`);
      }
      await Deno.chmod(mp, parseInt(mode, 8));
    }
    const gid = option(storage.options, "fsgid");
    if (gid !== undefined) {
      if (!/^\d+$/.test(gid)) {
        throw agentError("invalid-argument", `local storage: fsgid "${gid}" is not a number`);
      }
      await Deno.chown(mp, null, Number(gid));
    }
    return done(storage, mp, () => Deno.remove(mp, { recursive: true }).catch(() => {}));
  },
};

/** `ephemeral`: a tmpfs at the mount point (emptyDir medium Memory, sandbox /dev/shm). */
export const ephemeralHandler: StorageHandler = {
  driver: "ephemeral",
  async handle(storage, _cid, ctx) {
    if (storage.fstype !== "" && storage.fstype !== "tmpfs") {
      throw agentError("invalid-argument", `ephemeral storage: fstype "${storage.fstype}"`);
    }
    const mp = await mountPoint(storage, ctx);
    await ctx.mounter.mount("tmpfs", mp, "tmpfs", storage.options);
    return done(storage, mp, () => ctx.mounter.umount(mp));
  },
};

/** `virtio-fs`: mount the host share tag (`source`) at the mount point. */
export const virtioFsHandler: StorageHandler = {
  driver: "virtio-fs",
  async handle(storage, _cid, ctx) {
    if (!/^[A-Za-z0-9_.-]{1,36}$/.test(storage.source)) {
      throw agentError("invalid-argument", `virtio-fs storage: bad tag "${storage.source}"`);
    }
    const mp = await mountPoint(storage, ctx);
    await ctx.mounter.mount(storage.source, mp, "virtiofs", storage.options);
    return done(storage, mp, () => ctx.mounter.umount(mp));
  },
};

/**
 * `watchable-bind`: bind a directory the agent owns (CopyFile'd ConfigMaps/Secrets under the
 * shared dir) to the mount point. Upstream also polls for updates; we bind once.
 */
export const bindHandler: StorageHandler = {
  driver: "watchable-bind",
  async handle(storage, _cid, ctx) {
    const src = await ensureInside(storage.source, [ctx.paths.base], "Storage source");
    const mp = await mountPoint(storage, ctx);
    await ctx.mounter.mount(src, mp, "", ["bind", ...storage.options]);
    return done(storage, mp, () => ctx.mounter.umount(mp));
  },
};

const CONTAINER_TYPE_KEYS = [
  "io.kubernetes.cri.container-type",
  "io.kubernetes.cri-o.ContainerType",
];

/**
 * True when the `image_guest_pull=<JSON>` driver option marks a CRI sandbox container
 * (`{"metadata": {"io.kubernetes.cri.container-type": "sandbox"}}`; CRI-O key too).
 */
export function isSandboxPull(options: readonly string[]): boolean {
  const raw = option(options, "image_guest_pull");
  if (raw === undefined) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw agentError("invalid-argument", "image_guest_pull option is not JSON", err);
  }
  const meta = (parsed as { metadata?: unknown } | null)?.metadata;
  if (typeof meta !== "object" || meta === null) return false;
  const m = meta as Record<string, unknown>;
  return CONTAINER_TYPE_KEYS.some((k) => m[k] === "sandbox");
}

/**
 * `image_guest_pull`: pull `source` inside the guest into `<base>/<cid>/rootfs`; for a CRI
 * sandbox container, use the guest's pause bundle instead (no pull; process replaced).
 */
export const imagePullHandler: StorageHandler = {
  driver: "image_guest_pull",
  async handle(storage, cid, ctx) {
    const expected = ctx.paths.rootfs(cid);
    if (storage.mountPoint !== expected) {
      throw agentError(
        "invalid-argument",
        `image_guest_pull storage: mount_point "${storage.mountPoint}" must be ${expected}`,
      );
    }
    const bundle = ctx.paths.bundle(cid);
    await Deno.mkdir(bundle, { recursive: true });
    if (isSandboxPull(storage.driverOptions)) {
      if (!ctx.pauseBundle) {
        throw agentError(
          "failed-precondition",
          `Cannot create sandbox container ${cid}: the agent has no pause bundle configured`,
        );
      }
      ctx.logger.info("using the guest pause bundle", { bundle: ctx.pauseBundle, container: cid });
      const pause = await usePauseBundle(ctx.pauseBundle, expected);
      return {
        ...done(storage, pause.rootfs, () => Deno.remove(pause.rootfs, { recursive: true })),
        process: pause.process,
      };
    }
    if (!ctx.puller) {
      throw agentError("failed-precondition", "image_guest_pull: no image puller configured");
    }
    ctx.logger.info("pulling image in the guest", { image: storage.source, container: cid });
    const pulled = await ctx.puller.pullImage(storage.source, bundle);
    return done(
      storage,
      pulled.rootfs,
      () => pulled.mounted ? ctx.mounter.umount(pulled.rootfs) : Promise.resolve(),
    );
  },
};

/** Every handler, keyed by driver. */
export const STORAGE_HANDLERS: ReadonlyMap<string, StorageHandler> = new Map(
  [
    localHandler,
    ephemeralHandler,
    virtioFsHandler,
    bindHandler,
    imagePullHandler,
    blockHandler(),
  ].map((
    h,
  ) => [h.driver, h]),
);

/** Runs the handler for each storage; on failure undoes the ones already done. */
export async function addStorages(
  storages: readonly agent.Storage[],
  cid: string,
  ctx: StorageContext,
): Promise<MountedStorage[]> {
  const done: MountedStorage[] = [];
  try {
    for (const s of storages) {
      const h = STORAGE_HANDLERS.get(s.driver);
      if (!h) {
        throw agentError("invalid-argument", `Unknown storage driver "${s.driver}"`);
      }
      done.push(await h.handle(s, cid, ctx));
    }
    return done;
  } catch (err) {
    for (const m of done.reverse()) await m.cleanup().catch(() => {});
    throw err;
  }
}
