/**
 * Where the agent listens (spec/runtime.md §2.1, §8.4): `vsock://-1:1024` (kata default; Deno
 * needs `--unstable-vsock`), `unix:///path` (tests, peer pods) or — our addition for machines
 * without vhost-vsock — `serial://<port name>` / `serial:///dev/vportNpM`, a virtio-serial
 * port carrying one ttrpc connection at a time (reopened when the host side goes away).
 */
import { join } from "node:path";
import {
  type ByteStream,
  formatAddress,
  listen,
  parseAddress,
  type TtrpcServer,
} from "@coco/lib/ttrpc";
import { closeFd, openFd, OpenFlags, readFd, writeFd } from "@coco/lib/sys";
import { agentError } from "./errors.ts";

/** A parsed agent channel. */
export type AgentChannel =
  | { kind: "socket"; address: string }
  | { kind: "serial"; port: string };

/** Parses `server_addr`. */
export function parseChannel(addr: string): AgentChannel {
  if (addr.startsWith("serial://")) {
    const port = addr.slice("serial://".length);
    if (port === "" || (!port.startsWith("/") && !/^[A-Za-z0-9_.-]+$/.test(port))) {
      throw agentError("invalid-argument", `server_addr "${addr}": bad serial port`);
    }
    return { kind: "serial", port };
  }
  try {
    return { kind: "socket", address: formatAddress(parseAddress(addr)) };
  } catch (err) {
    throw agentError("invalid-argument", `server_addr "${addr}" does not parse`, err);
  }
}

/** Finds `/dev/<vportNpM>` whose sysfs name is `name` (no udev in the guest, see peers.md §9). */
export async function resolveSerialPort(
  name: string,
  sysDir = "/sys/class/virtio-ports",
  devDir = "/dev",
): Promise<string> {
  if (name.startsWith("/")) return name;
  try {
    for await (const e of Deno.readDir(sysDir)) {
      const n = await Deno.readTextFile(join(sysDir, e.name, "name")).catch(() => "");
      if (n.trim() === name) return join(devDir, e.name);
    }
  } catch (err) {
    throw agentError("unavailable", `Cannot list ${sysDir} to find port ${name}`, err);
  }
  throw agentError("unavailable", `No virtio-serial port named ${name} under ${sysDir}`);
}

/** A channel being served. */
export interface ServingChannel {
  /** Human-readable address for the readiness line. */
  address: string;
  /** Resolves when serving stops. */
  done: Promise<void>;
  close(): void;
}

/** Serves `server` on the channel. */
export async function serveChannel(
  server: TtrpcServer,
  channel: AgentChannel,
): Promise<ServingChannel> {
  if (channel.kind === "socket") {
    const listener = await listen(channel.address);
    return {
      address: channel.address,
      done: server.serve(listener),
      close: () => listener.close(),
    };
  }
  const path = await resolveSerialPort(channel.port);
  const fd = openFd(path, OpenFlags.RDWR | OpenFlags.NOCTTY);
  let closed = false;
  const loop = async () => {
    while (!closed) {
      const conn = fdConnection(fd);
      await server.handle(conn.stream);
      // EOF without a byte: no host on the other end yet. Look again shortly.
      if (!conn.gotData()) await new Promise((r) => setTimeout(r, 100));
    }
    closeFd(fd);
  };
  return { address: `serial://${path}`, done: loop(), close: () => closed = true };
}

/**
 * One ttrpc connection over a virtio-serial port fd, ending when a read returns 0 (the host end
 * went away). The fd stays open across connections: closing a virtio port throws away bytes the
 * host already sent, and reads and writes go through `@coco/lib/sys` so a pending read never
 * holds up a write (`Deno.FsFile` serializes them).
 */
export function fdConnection(fd: number): { stream: ByteStream; gotData(): boolean } {
  let ended = false;
  let got = false;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buf = new Uint8Array(64 * 1024);
      const n = ended ? 0 : await readFd(fd, buf).catch(() => 0);
      if (n === 0) {
        ended = true;
        controller.close();
        return;
      }
      got = true;
      controller.enqueue(buf.subarray(0, n));
    },
    cancel: () => void (ended = true),
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await writeFd(fd, chunk.slice());
    },
  });
  return {
    stream: { readable, writable, close: () => void (ended = true) },
    gotData: () => got,
  };
}
