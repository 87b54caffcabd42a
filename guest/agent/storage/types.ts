/** The storage plug-in interface: one handler per `Storage.driver`, and what they share. */
import type { agent } from "@coco/lib/proto";
import type { Logger } from "@coco/lib/log";
import type { AgentPaths } from "../paths.ts";
import type { PauseProcess } from "./pause_bundle.ts";

/** Mounts filesystems (`mount(2)` through lib/sys in a guest, the mount(8) CLI otherwise). */
export interface Mounter {
  mount(source: string, target: string, fstype: string, options: readonly string[]): Promise<void>;
  umount(target: string): Promise<void>;
}

/** What an image pull produced: the rootfs directory and the image config (OCI JSON). */
export interface PulledImage {
  rootfs: string;
  imageConfig?: unknown;
  /** True when `rootfs` is a mount (overlay) to undo when the container goes. */
  mounted?: boolean;
}

/** Pulls an image inside the guest into `<bundleDir>/rootfs` (CDH / guest/image pipeline). */
export interface ImagePuller {
  pullImage(ref: string, bundleDir: string): Promise<PulledImage>;
}

/** Everything a storage handler may use. */
export interface StorageContext {
  paths: AgentPaths;
  mounter: Mounter;
  logger: Logger;
  /** The image puller; absent when the agent has none (image_guest_pull is then refused). */
  puller?: ImagePuller;
  /**
   * Directory holding the built-in pause bundle (`config.json` + `rootfs`), used for CRI
   * sandbox containers; absent → such containers are refused.
   */
  pauseBundle?: string;
}

/** A storage made ready: where it is, and how to undo it. */
export interface MountedStorage {
  driver: string;
  mountPoint: string;
  shared: boolean;
  /**
   * Set for a CRI sandbox container run from the guest's pause bundle: the process that
   * replaces the container's OCI `process` in config.json (upstream `get_process`).
   */
  process?: PauseProcess;
  cleanup(): Promise<void>;
}

/** One storage driver. */
export interface StorageHandler {
  readonly driver: string;
  /** Prepares `storage` for container `cid` ("" for sandbox storages). */
  handle(storage: agent.Storage, cid: string, ctx: StorageContext): Promise<MountedStorage>;
}
