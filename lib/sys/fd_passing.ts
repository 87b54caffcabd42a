/**
 * Receiving a file descriptor over a unix socket (`SCM_RIGHTS`), which Deno's own sockets cannot
 * do, and sizing a terminal: what runc's `--console-socket` protocol needs (runc connects, sends
 * the pty master with the pty's name as data), and `TtyWinResize`.
 *
 * @module
 */
import { check, cstr, lib } from "./_ffi.ts";
import { SysError } from "./errors.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const TIOCSWINSZ = 0x5414;

/** A listening `AF_UNIX` stream socket bound to `path`; returns the fd. */
export function listenUnixFd(path: string): number {
  const name = cstr(path, "bind");
  if (name.length > 108) {
    throw new SysError("EINVAL_ARG", "bind", path, 0, "socket path longer than 107 bytes");
  }
  const addr = new Uint8Array(110); // sockaddr_un: sa_family_t + char[108]
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  const fd = lib().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd, "socket", path);
  try {
    check(lib().bind(fd, addr, 2 + name.length), "bind", path);
    check(lib().listen(fd, 4), "listen", path);
  } catch (err) {
    lib().close(fd);
    throw err;
  }
  return fd;
}

/** Waits (on a blocking-pool thread) for a connection on `fd`; returns the connection's fd. */
export async function acceptFd(fd: number): Promise<number> {
  const conn = await lib().accept(fd, null, null);
  if (conn < 0) {
    throw new SysError("EUNKNOWN", "accept", `fd ${fd}`, 0, "failed on a blocking-pool thread");
  }
  return conn;
}

/** What {@link recvFd} received: the fd passed, and the data sent with it. */
export interface ReceivedFd {
  fd: number;
  data: Uint8Array;
}

/**
 * Receives one message on `conn` and the first fd passed with it (`SCM_RIGHTS`, close-on-exec).
 * Throws when the peer sent no fd.
 */
export async function recvFd(conn: number): Promise<ReceivedFd> {
  const data = new Uint8Array(4096);
  const control = new Uint8Array(64);
  const iov = new Uint8Array(16);
  const msg = new Uint8Array(56);
  const ptr = (b: Uint8Array<ArrayBuffer>) =>
    BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  const iv = new DataView(iov.buffer);
  iv.setBigUint64(0, ptr(data), true);
  iv.setBigUint64(8, BigInt(data.length), true);
  const m = new DataView(msg.buffer);
  m.setBigUint64(16, ptr(iov), true); // msg_iov
  m.setBigUint64(24, 1n, true); // msg_iovlen
  m.setBigUint64(32, ptr(control), true); // msg_control
  m.setBigUint64(40, BigInt(control.length), true); // msg_controllen
  const n = Number(await lib().recvmsg(conn, msg, MSG_CMSG_CLOEXEC));
  if (n < 0) {
    throw new SysError("EUNKNOWN", "recvmsg", `fd ${conn}`, 0, "failed on a blocking-pool thread");
  }
  const c = new DataView(control.buffer);
  const controlLen = Number(m.getBigUint64(40, true));
  // cmsghdr: cmsg_len (size_t), cmsg_level (int), cmsg_type (int), then the data.
  if (
    controlLen < 20 || c.getInt32(8, true) !== SOL_SOCKET || c.getInt32(12, true) !== SCM_RIGHTS
  ) {
    throw new SysError("EUNKNOWN", "recvmsg", `fd ${conn}`, 0, "no file descriptor was passed");
  }
  return { fd: c.getInt32(16, true), data: data.slice(0, n) };
}

/** Sets a terminal's size (`ioctl(TIOCSWINSZ)`), e.g. on a pty master. */
export function setWinSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint8Array(8);
  const v = new DataView(ws.buffer);
  v.setUint16(0, rows, true);
  v.setUint16(2, cols, true);
  check(lib().ioctl(fd, BigInt(TIOCSWINSZ), ws), "ioctl", `fd ${fd} TIOCSWINSZ`);
}
