/**
 * Byte streams ttrpc runs over: unix sockets, vsock, and character devices (virtio-serial).
 * Everything else in this folder only sees a {@linkcode ByteStream}.
 */
import { dirname } from "node:path";

/** A bidirectional byte stream; `close()` is idempotent and never throws. */
export interface ByteStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

/** Accepts byte streams until closed. */
export interface StreamListener extends AsyncIterable<ByteStream> {
  readonly address: Address;
  /** Resolves with the next connection; rejects once the listener is closed. */
  accept(): Promise<ByteStream>;
  /** Stops accepting; idempotent. */
  close(): void;
}

/** A parsed ttrpc endpoint address. */
export type Address =
  | { transport: "unix"; path: string }
  | { transport: "vsock"; cid: number; port: number };

/** An address string did not parse. */
export class AddressError extends Error {
  override name = "AddressError";
}

const U32_MAX = 0xffff_ffff;

function parseU32(text: string, what: string, input: string): number {
  if (!/^\d+$/.test(text) || Number(text) > U32_MAX) {
    throw new AddressError(`Cannot parse ttrpc address "${input}": ${what} "${text}" is not a u32`);
  }
  return Number(text);
}

/**
 * Parses `unix:///run/x.sock`, `unix:/run/x.sock`, `unix://relative.sock`, a bare absolute path,
 * and `vsock://CID:PORT` (CID may be `-1` for "any" when listening).
 */
export function parseAddress(input: string): Address {
  if (input.startsWith("/")) return { transport: "unix", path: input };
  if (input.startsWith("unix:")) {
    const path = input.slice("unix:".length).replace(/^\/\//, "");
    if (path === "") throw new AddressError(`Cannot parse ttrpc address "${input}": empty path`);
    return { transport: "unix", path };
  }
  if (input.startsWith("vsock://")) {
    const rest = input.slice("vsock://".length);
    const m = rest.match(/^(-1|\d+):(\d+)$/);
    if (!m) {
      throw new AddressError(`Cannot parse ttrpc address "${input}": expected vsock://CID:PORT`);
    }
    const cid = m[1] === "-1" ? -1 : parseU32(m[1]!, "CID", input);
    return { transport: "vsock", cid, port: parseU32(m[2]!, "port", input) };
  }
  throw new AddressError(
    `Cannot parse ttrpc address "${input}": expected unix://PATH, unix:PATH or vsock://CID:PORT`,
  );
}

/** Formats an address back to its canonical string (`unix:///abs`, `vsock://3:1024`). */
export function formatAddress(address: Address): string {
  return address.transport === "unix"
    ? `unix://${address.path}`
    : `vsock://${address.cid}:${address.port}`;
}

function toAddress(address: Address | string): Address {
  return typeof address === "string" ? parseAddress(address) : address;
}

function wrapConn(conn: Deno.Conn): ByteStream {
  let closed = false;
  return {
    readable: conn.readable,
    writable: conn.writable,
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // the readable/writable already released the resource
      }
    },
  };
}

function wrapListener(listener: Deno.Listener, address: Address): StreamListener {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      listener.close();
    } catch {
      // already closed
    }
  };
  const accept = async () => wrapConn(await listener.accept());
  return {
    address,
    accept,
    close,
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        try {
          yield await accept();
        } catch (err) {
          if (closed) return;
          throw err;
        }
      }
    },
  };
}

/** Listens on a unix socket: creates the parent directory and removes a stale socket file. */
export async function listenUnix(path: string): Promise<StreamListener> {
  await Deno.mkdir(dirname(path), { recursive: true });
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return wrapListener(Deno.listen({ transport: "unix", path }), { transport: "unix", path });
}

/** Connects to a unix socket. */
export async function connectUnix(path: string): Promise<ByteStream> {
  return wrapConn(await Deno.connect({ transport: "unix", path }));
}

/** Listens on an address string or {@linkcode Address}. vsock needs `--unstable-vsock`. */
export async function listen(address: Address | string): Promise<StreamListener> {
  const addr = toAddress(address);
  if (addr.transport === "unix") return await listenUnix(addr.path);
  const listener = Deno.listen({ transport: "vsock", cid: addr.cid, port: addr.port });
  return wrapListener(listener, addr);
}

/** Connects to an address string or {@linkcode Address}. vsock needs `--unstable-vsock`. */
export async function connect(address: Address | string): Promise<ByteStream> {
  const addr = toAddress(address);
  if (addr.transport === "unix") return await connectUnix(addr.path);
  return wrapConn(await Deno.connect({ transport: "vsock", cid: addr.cid, port: addr.port }));
}

/**
 * Opens a character device (e.g. the virtio-serial port `/dev/vport0p1`) read-write as a
 * byte stream. Reads are pulled on demand; a read blocked in the kernel keeps a pending op until
 * data arrives, so close such a stream only at process exit or after the peer wrote.
 */
export async function openCharDevice(path: string): Promise<ByteStream> {
  const file = await Deno.open(path, { read: true, write: true });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(64 * 1024);
      const n = closed ? null : await file.read(buf).catch(() => null);
      if (n === null) {
        controller.close();
        return;
      }
      controller.enqueue(buf.subarray(0, n));
    },
    cancel: close,
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let at = 0;
      while (at < chunk.byteLength) at += await file.write(chunk.subarray(at));
    },
  });
  return { readable, writable, close };
}

/**
 * Two connected in-memory byte streams, for in-process tests of clients and servers.
 * Closing one side ends the other side's readable.
 */
export function memoryPipe(): [ByteStream, ByteStream] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  const side = (
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
  ): ByteStream => {
    let closed = false;
    return {
      readable,
      writable,
      close() {
        if (closed) return;
        closed = true;
        readable.cancel().catch(() => {});
        if (!writable.locked) writable.close().catch(() => {});
      },
    };
  };
  return [side(ba.readable, ab.writable), side(ab.readable, ba.writable)];
}
