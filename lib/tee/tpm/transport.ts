/**
 * Byte transports to a TPM: the kernel resource manager device (`/dev/tpmrm0`, one write per
 * command, one read per response) and swtpm's command socket (TCP or unix; raw TPM commands, as
 * the tpm2-tss `swtpm` TCTI sends them). Calls are serialised: one command in flight.
 */
import { TpmError } from "./errors.ts";

/** Sends one marshalled command and returns the complete response. */
export interface TpmTransport {
  transmit(command: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Where the TPM is: a character device, or swtpm's server socket. */
export type TpmTarget =
  | { device: string }
  | { socket: string }
  | { hostname?: string; port: number };

/** The largest response accepted (TPM responses are at most a few KiB). */
const MAX_RESPONSE = 64 * 1024;

function responseSize(header: Uint8Array): number {
  const size = new DataView(header.buffer, header.byteOffset, 10).getUint32(2);
  if (size < 10 || size > MAX_RESPONSE) {
    throw new TpmError("transport", `Cannot read TPM response: header announces ${size} bytes`);
  }
  return size;
}

class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => {});
    return next;
  }
}

async function readFull(conn: Deno.Conn, n: number, what: string): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = await conn.read(out.subarray(got));
    if (k === null) {
      throw new TpmError("transport", `Cannot read TPM response: connection closed in ${what}`);
    }
    got += k;
  }
  return out;
}

class SocketTransport implements TpmTransport {
  #serial = new Serial();
  constructor(readonly conn: Deno.Conn, readonly label: string) {}

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.#serial.run(async () => {
      try {
        let off = 0;
        while (off < command.length) off += await this.conn.write(command.subarray(off));
        const header = await readFull(this.conn, 10, "header");
        const rest = await readFull(this.conn, responseSize(header) - 10, "body");
        const out = new Uint8Array(header.length + rest.length);
        out.set(header);
        out.set(rest, 10);
        return out;
      } catch (err) {
        if (err instanceof TpmError) throw err;
        throw new TpmError("transport", `Cannot talk to the TPM at ${this.label}: ${err}`, {
          cause: err,
        });
      }
    });
  }

  close() {
    this.conn.close();
  }
}

class DeviceTransport implements TpmTransport {
  #serial = new Serial();
  constructor(readonly file: Deno.FsFile, readonly path: string) {}

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.#serial.run(async () => {
      try {
        let off = 0;
        while (off < command.length) off += await this.file.write(command.subarray(off));
        const buf = new Uint8Array(MAX_RESPONSE);
        const n = await this.file.read(buf);
        if (n === null || n < 10) {
          throw new TpmError("transport", `Cannot read TPM response from ${this.path}: short read`);
        }
        const size = responseSize(buf);
        if (size !== n) {
          throw new TpmError(
            "transport",
            `Cannot read TPM response from ${this.path}: got ${n} of ${size} bytes`,
          );
        }
        return buf.slice(0, n);
      } catch (err) {
        if (err instanceof TpmError) throw err;
        throw new TpmError("transport", `Cannot talk to the TPM at ${this.path}: ${err}`, {
          cause: err,
        });
      }
    });
  }

  close() {
    this.file.close();
  }
}

/** Human-readable location of `target`. */
export function describeTarget(target: TpmTarget): string {
  if ("device" in target) return target.device;
  if ("socket" in target) return `unix:${target.socket}`;
  return `tcp:${target.hostname ?? "127.0.0.1"}:${target.port}`;
}

/** Opens a transport to `target`; throws `transport` naming it when that fails. */
export async function openTransport(target: TpmTarget): Promise<TpmTransport> {
  const label = describeTarget(target);
  try {
    if ("device" in target) {
      const file = await Deno.open(target.device, { read: true, write: true });
      return new DeviceTransport(file, target.device);
    }
    const conn = "socket" in target
      ? await Deno.connect({ transport: "unix", path: target.socket })
      : await Deno.connect({ hostname: target.hostname ?? "127.0.0.1", port: target.port });
    return new SocketTransport(conn, label);
  } catch (err) {
    throw new TpmError("transport", `Cannot open the TPM at ${label}: ${err}`, { cause: err });
  }
}
