/**
 * Linux system calls Deno has no API for, through FFI on `libc.so.6` (loaded lazily, once; needs
 * `--allow-ffi`): mounts, device nodes and FIFOs, ownership and timestamps without following
 * symlinks, extended attributes, `sync` and `reboot`. Every failure is a {@link SysError} whose
 * `code` is the errno name and whose message names the call and the path.
 *
 * @example
 * ```ts
 * import { lsetxattr, mknod } from "@coco/lib/sys";
 * mknod("/layer/etc/removed", "char", { mode: 0, major: 0, minor: 0 }); // overlay whiteout
 * lsetxattr("/layer/opt", "trusted.overlay.opaque", "y");
 * ```
 *
 * @module
 */
export { loadSys } from "./_ffi.ts";
export { ERRNO, type ErrnoName, errnoName, SysError } from "./errors.ts";
export { mount, type MountArgs, MountFlags, umount, UmountFlags } from "./mount.ts";
export {
  chmod,
  lchown,
  lutimes,
  makedev,
  mknod,
  type MknodOptions,
  type NodeKind,
  type Timespec,
  toTimespec,
} from "./nodes.ts";
export { lgetxattr, llistxattr, lremovexattr, lsetxattr, type XattrFlag } from "./xattr.ts";
export { type FileKind, lstatKind } from "./stat.ts";
export {
  AtFlags,
  chmodAt,
  closeFdSync,
  cname,
  errorOf,
  fchmod,
  fchown,
  fsetxattr,
  futimens,
  kindAt,
  lchownAt,
  lutimesAt,
  type Name,
  OFlags,
  tryLinkAt,
  tryMkdirAt,
  tryMknodAt,
  tryOpenAt,
  trySymlinkAt,
  tryUnlinkAt,
  writeAllSync,
} from "./at.ts";
export { reboot, RebootCommand, sync } from "./power.ts";
export { closeFd, openFd, OpenFlags, readFd, writeFd } from "./fd.ts";
export { acceptFd, listenUnixFd, type ReceivedFd, recvFd, setWinSize } from "./fd_passing.ts";
export {
  becomeSubreaper,
  exitCodeOf,
  killPid,
  reapOrphans,
  waitingPids,
  waitPid,
} from "./process.ts";
