/**
 * Tests for fd passing: a python3 peer (standing in for runc's --console-socket client) connects
 * and sends an open file with SCM_RIGHTS; the received fd reads that file.
 */
import assert from "node:assert/strict";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import {
  acceptFd,
  closeFd,
  listenUnixFd,
  loadSys,
  readFd,
  recvFd,
  setWinSize,
  SysError,
} from "./mod.ts";

loadSys();
const peers = findPeers("python3");

const SENDER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = os.open(sys.argv[2], os.O_RDONLY)
socket.send_fds(s, [b"/dev/pts/9"], [f])
`;

Deno.test({
  name: "recvFd() receives a file descriptor and its data over a unix socket",
  ...skipUnless(peers, "recvFd()"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const sock = `${dir}/console.sock`;
    await Deno.writeTextFile(`${dir}/file`, "passed-through");
    const listener = listenUnixFd(sock);
    try {
      const accepted = acceptFd(listener);
      const sender = new Deno.Command(peers.paths.python3!, {
        args: ["-c", SENDER, sock, `${dir}/file`],
      }).output();
      const conn = await accepted;
      const got = await recvFd(conn);
      closeFd(conn);
      assert.equal((await sender).success, true);
      assert.equal(new TextDecoder().decode(got.data), "/dev/pts/9");
      const buf = new Uint8Array(64);
      const n = await readFd(got.fd, buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "passed-through");
      assert.throws(() => setWinSize(got.fd, 24, 80), (e: unknown) => {
        assert.ok(e instanceof SysError);
        assert.equal(e.code, "ENOTTY");
        return true;
      });
      closeFd(got.fd);
    } finally {
      closeFd(listener);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("listenUnixFd() refuses a path too long for sockaddr_un", () => {
  assert.throws(() => listenUnixFd(`/tmp/${"x".repeat(120)}`), { code: "EINVAL_ARG" });
});
