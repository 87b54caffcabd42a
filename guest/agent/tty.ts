/**
 * Terminals for container processes (`Process.Terminal`): runc allocates the pty inside the
 * container and hands the master to the agent over `--console-socket` (a unix socket, the fd in
 * an `SCM_RIGHTS` message), which Deno's sockets cannot receive — so the socket, the accept and
 * the `recvmsg` go through `@coco/lib/sys`. The master becomes the process's stdin/stdout
 * (stderr is empty, as upstream: ReadStderr is unused with a tty).
 */
import { acceptFd, closeFd, listenUnixFd, readFd, recvFd, writeFd } from "@coco/lib/sys";
import type { ProcessPipes } from "./runtime.ts";

/** A console socket waiting for runc's connection. */
export interface ConsoleSocket {
  path: string;
  /** Resolves with the pty master fd once runc has sent it. */
  receive(): Promise<number>;
  /** Stops waiting (runc failed): wakes the pending accept and removes the socket. */
  abort(): Promise<void>;
}

/** Listens on `path` for runc's `--console-socket` connection. */
export function consoleSocket(path: string): ConsoleSocket {
  const listener = listenUnixFd(path);
  const accepted = acceptFd(listener);
  let done = false;
  const finish = async () => {
    if (done) return;
    done = true;
    closeFd(listener);
    await Deno.remove(path).catch(() => {});
  };
  return {
    path,
    async receive() {
      const conn = await accepted;
      try {
        return (await recvFd(conn)).fd;
      } finally {
        closeFd(conn);
        await finish();
      }
    },
    async abort() {
      if (done) return;
      // The accept runs on a pool thread: connect once so it returns, then drop that connection.
      const c = await Deno.connect({ transport: "unix", path }).catch(() => undefined);
      c?.close();
      await accepted.then(closeFd, () => {});
      await finish();
    },
  };
}

/** stdin/stdout over a pty master fd; stderr is empty. Reads end at EOF or EIO (slave gone). */
export function ttyPipes(fd: number): ProcessPipes {
  let ended = false;
  return {
    stdout: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const buf = new Uint8Array(32 * 1024);
        const n = ended ? 0 : await readFd(fd, buf).catch(() => 0);
        if (n === 0) {
          ended = true;
          controller.close();
          return;
        }
        controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => void (ended = true),
    }, { highWaterMark: 0 }),
    stderr: new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
    stdin: new WritableStream<Uint8Array>({
      async write(chunk) {
        await writeFd(fd, chunk.slice());
      },
    }),
  };
}
