/** The `--features` gate of the REST server and the `--bind` address. */

/** Which backends the REST API exposes. */
export type Features = "resource" | "attestation" | "all";
export const FEATURES: readonly Features[] = ["resource", "attestation", "all"];

/** Parses `resource|attestation|all`. */
export function parseFeatures(value: string): Features {
  if ((FEATURES as readonly string[]).includes(value)) return value as Features;
  throw new TypeError(`Invalid features \`${value}\`: expected one of ${FEATURES.join(", ")}`);
}

/** A host and port to listen on. */
export interface BindAddress {
  hostname: string;
  port: number;
}

/** Parses `127.0.0.1:8006`, `[::1]:8006` or `localhost:0`. */
export function parseBind(value: string): BindAddress {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new TypeError(`Invalid bind address \`${value}\`: expected HOST:PORT (port 0–65535)`);
  }
  return { hostname: m[1] ?? m[2]!, port };
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(addr: Deno.Addr): boolean {
  if (addr.transport !== "tcp" && addr.transport !== "udp") return false;
  const h = addr.hostname.replace(/^::ffff:/i, "");
  return h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
