/**
 * Where the agent listens (spec/runtime.md §2.1, §8.4): `vsock://-1:1024` (kata default; Deno
 * needs `--unstable-vsock`), `unix:///path` (tests, peer pods) or — our addition for machines
 * without vhost-vsock — `serial://<port name>` / `serial:///dev/vportNpM`, a virtio-serial
 * port carrying one ttrpc connection at a time (reopened when the host side goes away).
 */
import { join } from "node:path";
import {
  formatAddress,
  listen,
  openCharDevice,
  parseAddress,
  type TtrpcServer,
} from "@coco/lib/ttrpc";
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
  let closed = false;
  const loop = async () => {
    while (!closed) await server.handle(await openCharDevice(path));
  };
  return { address: `serial://${path}`, done: loop(), close: () => closed = true };
}
