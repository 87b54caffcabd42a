/**
 * Container rootfs decisions: guest pull (an `image_guest_pull` Storage the agent fulfils inside
 * the guest — from force-guest-pull mode or a nydus proxy-mode mount carrying
 * `io.katacontainers.volume=`), or, for the local agent of `hypervisor.type = "none"`, the host
 * rootfs mounted where the agent accepts it (`<base>/shared/containers/<cid>/rootfs`).
 */
import { isAbsolute, join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { agent, ctrdTypes } from "@coco/lib/proto";
import { shimError } from "./errors.ts";

/** A Storage init object. */
export type StorageInit = MessageInitShape<typeof agent.StorageSchema>;

const VOLUME_OPTION = "io.katacontainers.volume=";

/** The snapshotter's guest-pull marker, when a rootfs mount carries one. */
export interface GuestPullVolume {
  source: string;
  metadata: Record<string, string>;
}

/** Reads a nydus proxy-mode `io.katacontainers.volume=` option (KataVirtualVolume JSON). */
export function guestPullVolume(mounts: readonly ctrdTypes.Mount[]): GuestPullVolume | undefined {
  for (const m of mounts) {
    const opt = m.options.find((o) => o.startsWith(VOLUME_OPTION));
    if (!opt) continue;
    let v: unknown;
    try {
      v = JSON.parse(
        new TextDecoder().decode(Uint8Array.fromBase64(opt.slice(VOLUME_OPTION.length))),
      );
    } catch (err) {
      throw shimError(
        "bad-request",
        "rootfs option io.katacontainers.volume is not base64 JSON",
        err,
      );
    }
    if (typeof v !== "object" || v === null) {
      throw shimError("bad-request", "rootfs option io.katacontainers.volume is not an object");
    }
    const vol = v as Record<string, unknown>;
    if (vol.volume_type !== "image_guest_pull") continue;
    const pull = vol.image_pull as { metadata?: unknown } | undefined;
    const meta = pull?.metadata;
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
      throw shimError("bad-request", "image_guest_pull volume has no image_pull.metadata object");
    }
    const metadata: Record<string, string> = {};
    for (const [k, x] of Object.entries(meta)) if (typeof x === "string") metadata[k] = x;
    return { source: typeof vol.source === "string" ? vol.source : "", metadata };
  }
  return undefined;
}

/** True when a mount is nydus-overlayfs (must not be mounted on the host). */
export function isNydusMount(m: ctrdTypes.Mount): boolean {
  return m.type.startsWith("fuse.") &&
    m.type.slice(5).split("/").pop()!.startsWith("nydus-overlayfs");
}

/** Image reference for guest pull: `pause` for sandboxes, else the CRI annotation. */
export function imageReference(
  sandbox: boolean,
  annotations: Record<string, string>,
  volume?: GuestPullVolume,
): string {
  if (sandbox) return "pause";
  const ref = annotations["io.kubernetes.cri.image-name"] ??
    annotations["io.kubernetes.cri-o.ImageName"] ?? volume?.source;
  if (!ref || ref === "dummy-image-reference") {
    throw shimError(
      "bad-request",
      "Guest pull needs the image reference: set the io.kubernetes.cri.image-name annotation",
    );
  }
  return ref;
}

/** The image_guest_pull Storage for container `cid` (spec/runtime.md §2.7). */
export function guestPullStorage(
  cid: string,
  containerBase: string,
  source: string,
  metadata: Record<string, string>,
): StorageInit {
  return {
    driver: "image_guest_pull",
    driverOptions: [`image_guest_pull=${JSON.stringify({ metadata })}`],
    source,
    fstype: "overlay",
    options: [],
    mountPoint: join(containerBase, cid, "rootfs"),
  };
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Mounts the host rootfs for the local agent; returns the mount point. */
export async function mountHostRootfs(
  cid: string,
  containerBase: string,
  mounts: readonly ctrdTypes.Mount[],
  bundle: string,
  bundleRoot: string,
): Promise<string> {
  const target = join(containerBase, "shared", "containers", cid, "rootfs");
  await Deno.mkdir(target, { recursive: true });
  try {
    if (mounts.length > 1) throw new Error("more than one rootfs mount is not supported");
    const m = mounts[0];
    if (m) {
      if (isNydusMount(m)) throw new Error(`${m.type} rootfs needs guest pull`);
      const opts = m.options.filter((o) => !o.startsWith(VOLUME_OPTION));
      await run("mount", [
        "-t",
        m.type,
        ...(opts.length ? ["-o", opts.join(",")] : []),
        m.source,
        target,
      ]);
    } else {
      const src = isAbsolute(bundleRoot) ? bundleRoot : join(bundle, bundleRoot || "rootfs");
      await run("mount", ["--rbind", src, target]);
    }
  } catch (err) {
    await Deno.remove(target).catch(() => {});
    await Deno.remove(join(target, "..")).catch(() => {});
    throw shimError(
      "failed-precondition",
      `Cannot mount the rootfs of ${cid}: ${(err as Error).message}`,
      err,
    );
  }
  return target;
}

/** Undoes {@linkcode mountHostRootfs}. */
export async function unmountHostRootfs(target: string): Promise<void> {
  await run("umount", ["-l", target]).catch(() => {});
  // Never recursive: if the unmount failed, the directory still shows the container's files.
  await Deno.remove(target).catch(() => {});
  await Deno.remove(join(target, "..")).catch(() => {});
}
