/**
 * Host bind mounts without a shared filesystem (`shared_fs = "none"`, as every CoCo runtime
 * class): what containerd binds into a container from the host (`/etc/hosts`, `/etc/hostname`,
 * `/etc/resolv.conf`, `/dev/termination-log`, ConfigMap/Secret/projected volumes) is copied into
 * the guest with the agent's `CopyFile` and the mount's source rewritten to the copy, as Kata's
 * runtime does (spec/runtime.md §2.5, §2.10 step 6).
 *
 * - Guest name: `<base>/shared/containers/<cid>-<16 hex>-<basename of destination>`, the shape
 *   the upstream policy's CopyFile rule expects.
 * - Regular files go in chunks of at most 1 MiB with increasing offsets; directories are copied
 *   recursively (dirs, files, relative symlinks: a ConfigMap's `..data` links); the owner and
 *   permission bits follow the host's node.
 * - `/proc` and `/sys` destinations are left alone (the agent and policy deal with them).
 *   A bind of the host's `/dev/shm` (the pod's shm) becomes a private tmpfs of mode 1777.
 * - Kubernetes volumes (`kubernetes.io~configmap|secret|projected|downward-api` in the source)
 *   go under `watchable/` and are kept up to date by {@linkcode watchSharedMounts}.
 * - Anything else (devices, sockets, absolute symlinks) is refused with an error naming the
 *   mount, and so is more than {@linkcode SHARE_MAX_BYTES} for one container: copying a large
 *   hostPath volume into guest memory is not what anyone wants by accident.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { agent } from "@coco/lib/proto";
import { shimError } from "./errors.ts";
import type { AgentSpec } from "./oci_spec.ts";

/** One CopyFile request as the agent client takes it. */
export type CopyFileInit = MessageInitShape<typeof agent.CopyFileRequestSchema>;
/** Sends one CopyFile request. */
export type CopyFileFn = (req: CopyFileInit) => Promise<unknown>;

/** Chunk size of the copies (upstream's maximum). */
export const SHARE_CHUNK = 1024 * 1024;
/** Most bytes copied for one container. */
export const SHARE_MAX_BYTES = 64 * 1024 * 1024;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DIR_MODE = 0o750;

type Mount = NonNullable<AgentSpec["Mounts"]>[number];

const under = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

function isBind(m: Mount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function randomHex16(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Copies the files of one host node (recursively) into the guest at `guest`. */
class Copier {
  bytes = 0;
  constructor(readonly send: CopyFileFn, public what: string) {}

  async node(host: string, guest: string, info: Deno.FileInfo): Promise<void> {
    const owner = { uid: info.uid ?? 0, gid: info.gid ?? 0 };
    const perm = (info.mode ?? 0o644) & 0o7777;
    if (info.isSymlink) {
      const target = await Deno.readLink(host);
      if (target.startsWith("/")) {
        throw shimError(
          "bad-request",
          `${this.what}: ${host} is a symlink to the absolute path ${target}; only relative links can be copied into the guest`,
        );
      }
      const data = new TextEncoder().encode(target);
      await this.send({
        path: guest,
        fileSize: BigInt(data.length),
        fileMode: S_IFLNK | 0o777,
        dirMode: DIR_MODE,
        ...owner,
        offset: 0n,
        data,
      });
      return;
    }
    if (info.isDirectory) {
      await this.send({
        path: guest,
        fileSize: 0n,
        fileMode: S_IFDIR | perm,
        dirMode: DIR_MODE,
        ...owner,
        offset: 0n,
        data: new Uint8Array(0),
      });
      const entries: string[] = [];
      for await (const e of Deno.readDir(host)) entries.push(e.name);
      for (const name of entries.sort()) {
        const child = join(host, name);
        await this.node(child, join(guest, name), await Deno.lstat(child));
      }
      return;
    }
    if (!info.isFile) {
      throw shimError(
        "bad-request",
        `${this.what}: ${host} is neither a file, a directory nor a symlink; it cannot be copied into the guest`,
      );
    }
    this.bytes += info.size;
    if (this.bytes > SHARE_MAX_BYTES) {
      throw shimError(
        "bad-request",
        `${this.what}: more than ${SHARE_MAX_BYTES} bytes of host files to copy into the guest`,
      );
    }
    const f = await Deno.open(host, { read: true });
    try {
      const size = info.size;
      let offset = 0;
      do {
        const buf = new Uint8Array(Math.min(SHARE_CHUNK, size - offset));
        let got = 0;
        while (got < buf.length) {
          const n = await f.read(buf.subarray(got));
          if (n === null) break;
          got += n;
        }
        if (got < buf.length) {
          throw shimError("failed-precondition", `${this.what}: ${host} shrank while copying`);
        }
        await this.send({
          path: guest,
          fileSize: BigInt(size),
          fileMode: S_IFREG | perm,
          dirMode: DIR_MODE,
          ...owner,
          offset: BigInt(offset),
          data: buf,
        });
        offset += buf.length;
      } while (offset < size);
    } finally {
      f.close();
    }
  }
}

/** One host source copied into the guest. */
export interface SharedMount {
  host: string;
  guest: string;
  /** A Kubernetes ConfigMap / Secret / projected / downward-API volume: kept up to date. */
  watchable: boolean;
  /** Names the mount in errors. */
  what: string;
}

const WATCHABLE = /\/kubernetes\.io~(configmap|secret|projected|downward-api)\//;

/** Copies `host` (recursively) to `guest` with `send`; returns the bytes of regular files. */
export async function copyTree(
  send: CopyFileFn,
  host: string,
  guest: string,
  what: string,
): Promise<number> {
  const copier = new Copier(send, what);
  await copier.node(host, guest, await Deno.lstat(host));
  return copier.bytes;
}

/**
 * Copies the host sources of `spec`'s bind mounts into the guest and rewrites those mounts in
 * place. `containerBase` is the guest's `/run/kata-containers`. Returns what was shared, for
 * {@linkcode watchSharedMounts}.
 */
export async function shareHostMounts(
  spec: AgentSpec,
  cid: string,
  containerBase: string,
  send: CopyFileFn,
): Promise<SharedMount[]> {
  const shared: SharedMount[] = [];
  const mounts = spec.Mounts ?? [];
  const copier = new Copier(send, `Container ${cid}`);
  for (const [i, m] of mounts.entries()) {
    const dest = m.destination ?? "";
    if (!isBind(m) || under(dest, "/proc") || under(dest, "/sys")) continue;
    const source = m.source ?? "";
    if (source.startsWith(`${containerBase}/`)) continue; // already a guest path
    if (dest === "/dev/shm") {
      mounts[i] = {
        destination: dest,
        source: "shm",
        type: "tmpfs",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      };
      continue;
    }
    const what = `Container ${cid} mount ${dest}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(source);
    } catch (err) {
      throw shimError("bad-request", `${what}: host source ${source} is unreadable`, err);
    }
    const watchable = WATCHABLE.test(source);
    const guest = join(
      containerBase,
      "shared",
      "containers",
      ...(watchable ? ["watchable"] : []),
      `${cid}-${randomHex16()}-${basename(dest) || "root"}`,
    );
    copier.what = what;
    await copier.node(source, guest, info);
    shared.push({ host: source, guest, watchable, what });
    const options = [...(m.options ?? [])];
    if (!options.some((o) => o === "bind" || o === "rbind")) options.push("rbind");
    mounts[i] = { ...m, source: guest, type: "bind", options };
  }
  return shared;
}
