/**
 * Pod networking in the guest (spec/runtime.md §2.9): UpdateInterface, UpdateRoutes,
 * ListInterfaces, ListRoutes, AddARPNeighbors. Changes go through the `ip` command (busybox `ip` in the guest
 * image; iproute2 works too) rather than rtnetlink over FFI: the handful of calls per pod start
 * is not worth a netlink codec, and the argv is easy to check. Link facts (MAC, MTU, flags) are
 * read from sysfs. Every field from the host is validated before it reaches an argv.
 */
import { join } from "node:path";
import { create, types } from "@coco/lib/proto";
import { agentError } from "./errors.ts";

/** Runs `ip` with `args`; resolves with its stdout, rejects with its stderr. */
export type IpRunner = (args: string[]) => Promise<string>;

/** The real runner: the `ip` executable on PATH. */
export const ipCommand: IpRunner = async (args) => {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw agentError("internal", `ip ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
};

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/i;

function ip(addr: string, what: string): string {
  if (IPV4.test(addr) || (addr.includes(":") && IPV6.test(addr))) return addr;
  throw agentError("invalid-argument", `${what} "${addr}" is not an IP address`);
}

function ifname(name: string, what: string): string {
  if (!IFNAME.test(name) || name === "." || name === "..") {
    throw agentError("invalid-argument", `${what} "${name}" is not an interface name`);
  }
  return name;
}

/** Prefix length of a mask given as a number ("24") or dotted quad ("255.255.255.0"). */
export function prefixLength(mask: string, v6: boolean): number {
  const max = v6 ? 128 : 32;
  if (/^\d{1,3}$/.test(mask) && Number(mask) <= max) return Number(mask);
  if (!v6 && IPV4.test(mask)) {
    const bits = mask.split(".").map((o) => Number(o).toString(2).padStart(8, "0")).join("");
    if (/^1*0*$/.test(bits)) return bits.indexOf("0") < 0 ? 32 : bits.indexOf("0");
  }
  throw agentError("invalid-argument", `Address mask "${mask}" is not a prefix length`);
}

/** The real `arp` (busybox's applet in the guest image: its `ip` has no `neigh replace`). */
export const arpCommand: IpRunner = async (args) => {
  const out = await new Deno.Command("arp", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw agentError("internal", `arp ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
};

/** A network stack the agent can change: `ip` (and `arp`) plus sysfs. */
export class GuestNetwork {
  readonly #run: IpRunner;
  readonly #sys: string;
  readonly #arp: IpRunner;

  constructor(run: IpRunner = ipCommand, sysNet = "/sys/class/net", arp: IpRunner = arpCommand) {
    this.#run = run;
    this.#sys = sysNet;
    this.#arp = arp;
  }

  async #read(link: string, file: string): Promise<string> {
    return (await Deno.readTextFile(join(this.#sys, link, file)).catch(() => "")).trim();
  }

  async #links(): Promise<string[]> {
    const out: string[] = [];
    for await (const e of Deno.readDir(this.#sys)) out.push(e.name);
    return out.sort();
  }

  /** The link with MAC `hwAddr` (upstream's lookup), else the one named `name`. */
  async #find(iface: types.Interface): Promise<string> {
    for (const l of await this.#links()) {
      if (
        iface.hwAddr &&
        (await this.#read(l, "address")).toLowerCase() === iface.hwAddr.toLowerCase()
      ) {
        return l;
      }
    }
    if (!iface.hwAddr) {
      for (const n of [iface.device, iface.name]) {
        if (n && (await this.#links()).includes(n)) return n;
      }
    }
    throw agentError(
      "not-found",
      `No link with hardware address "${iface.hwAddr}" (interface ${iface.name})`,
    );
  }

  /**
   * UpdateInterface: finds the link, takes it down, replaces its addresses, sets MTU and name,
   * brings it up; answers the interface as it now is.
   */
  async updateInterface(iface: types.Interface): Promise<types.Interface> {
    if (iface.hwAddr && !MAC.test(iface.hwAddr)) {
      throw agentError("invalid-argument", `hwAddr "${iface.hwAddr}" is not a MAC address`);
    }
    const name = ifname(iface.name || iface.device, "Interface name");
    if (name === "lo") throw agentError("invalid-argument", "The loopback link cannot be updated");
    const addrs = iface.IPAddresses.map((a) => {
      const v6 = a.family === types.IPFamily.v6;
      return `${ip(a.address, "Interface address")}/${prefixLength(a.mask, v6)}`;
    });
    if (iface.mtu !== 0n && (iface.mtu < 68n || iface.mtu > 65535n)) {
      throw agentError("invalid-argument", `MTU ${iface.mtu} is out of range`);
    }
    const link = await this.#find(iface);
    await this.#run(["link", "set", "dev", link, "down"]);
    await this.#run(["addr", "flush", "dev", link]);
    if (link !== name) await this.#run(["link", "set", "dev", link, "name", name]);
    if (iface.mtu !== 0n) await this.#run(["link", "set", "dev", name, "mtu", String(iface.mtu)]);
    for (const a of addrs) await this.#run(["addr", "add", a, "dev", name]);
    await this.#run(["link", "set", "dev", name, "up"]);
    const now = (await this.listInterfaces()).find((i) => i.name === name);
    if (!now) throw agentError("internal", `Link ${name} vanished after the update`);
    return now;
  }

  /** ListInterfaces: every link with its addresses (from `ip -o addr`). */
  async listInterfaces(): Promise<types.Interface[]> {
    const byLink = parseAddrs(await this.#run(["-o", "addr", "show"]));
    const out: types.Interface[] = [];
    for (const l of await this.#links()) {
      out.push(create(types.InterfaceSchema, {
        device: l,
        name: l,
        hwAddr: await this.#read(l, "address"),
        mtu: BigInt((await this.#read(l, "mtu")) || "0"),
        rawFlags: Number((await this.#read(l, "flags")) || "0"),
        IPAddresses: byLink.get(l) ?? [],
      }));
    }
    return out;
  }

  /** ListRoutes: the main table (IPv4 and IPv6). */
  async listRoutes(): Promise<types.Route[]> {
    return [
      ...parseRoutes(await this.#run(["-4", "route", "show"]), types.IPFamily.v4),
      ...parseRoutes(await this.#run(["-6", "route", "show"]).catch(() => ""), types.IPFamily.v6),
    ];
  }

  /**
   * UpdateRoutes: makes the main table equal to `routes` (kernel-made link routes of addresses
   * stay): stale routes are deleted, then link-scope routes are added before gateway routes so
   * every gateway is reachable when its route goes in. Answers the resulting table.
   */
  async updateRoutes(routes: readonly types.Route[]): Promise<types.Route[]> {
    const wanted = routes.map(routeArgs);
    for (const r of await this.listRoutes()) {
      if (r.device === "lo" || isKernelRoute(r)) continue;
      const args = routeArgs(r);
      if (!wanted.some((w) => w.join(" ") === args.join(" "))) {
        await this.#run(["route", "del", ...args]).catch(() => {});
      }
    }
    const ordered = [...wanted].sort((a, b) =>
      Number(a.includes("via")) - Number(b.includes("via"))
    );
    for (const args of ordered) await this.#run(["route", "replace", ...args]);
    return await this.listRoutes();
  }

  /**
   * AddARPNeighbors: each validated before any is added. IPv4 entries go through `arp -s`
   * (permanent unless the state says otherwise: then `temp`), IPv6 ones through
   * `ip neigh replace` (iproute2 only).
   */
  async addArpNeighbors(neighbors: readonly types.ARPNeighbor[]): Promise<void> {
    const all = neighbors.map(neighborArgs);
    for (const [to, , mac, , dev, , nud] of all) {
      if (IPV4.test(to!)) {
        const temp = nud === "permanent" || nud === "noarp" ? [] : ["temp"];
        await this.#arp(["-i", dev!, "-s", to!, mac!, ...temp]);
      } else {
        await this.#run(["neigh", "replace", to!, "lladdr", mac!, "dev", dev!, "nud", nud!]);
      }
    }
  }
}

const NUD: Record<number, string> = {
  0x01: "incomplete",
  0x02: "reachable",
  0x04: "stale",
  0x08: "delay",
  0x10: "probe",
  0x20: "failed",
  0x40: "noarp",
  0x80: "permanent",
};

/**
 * `ip neigh replace` arguments for an ARP neighbor (validated): state is the kernel's NUD value
 * (the runtime sends NUD_PERMANENT, 0x80); 0 means permanent, like a static entry.
 */
export function neighborArgs(n: types.ARPNeighbor): string[] {
  const to = n.toIPAddress?.address ?? "";
  const dev = ifname(n.device, "Neighbor device");
  if (!MAC.test(n.lladdr)) {
    throw agentError("invalid-argument", `Neighbor lladdr "${n.lladdr}" is not a MAC address`);
  }
  const nud = n.state === 0 ? "permanent" : NUD[n.state];
  if (!nud) throw agentError("invalid-argument", `Neighbor state ${n.state} is not a NUD state`);
  return [ip(to, "Neighbor address"), "lladdr", n.lladdr.toLowerCase(), "dev", dev, "nud", nud];
}

function isKernelRoute(r: types.Route): boolean {
  return r.gateway === "" && r.scope === 253 && r.source !== "";
}

/** `ip route` arguments for a route (validated). */
export function routeArgs(r: types.Route): string[] {
  const args: string[] = [];
  const dest = r.dest === "" || r.dest === "default" ? "default" : r.dest;
  if (dest !== "default") {
    const [addr = "", len] = dest.split("/");
    ip(addr, "Route destination");
    if (len !== undefined) prefixLength(len, addr.includes(":"));
  }
  args.push(dest);
  if (r.gateway) args.push("via", ip(r.gateway, "Route gateway"));
  if (r.device) args.push("dev", ifname(r.device, "Route device"));
  if (r.source) args.push("src", ip(r.source, "Route source"));
  if (r.scope === 253) args.push("scope", "link");
  else if (r.scope === 254) args.push("scope", "host");
  if (r.mtu) args.push("mtu", String(r.mtu));
  if (!r.gateway && !r.device) {
    throw agentError("invalid-argument", `Route to ${dest} has neither gateway nor device`);
  }
  return args;
}

/** Parses `ip -o addr show` lines into addresses per link. */
export function parseAddrs(text: string): Map<string, types.IPAddress[]> {
  const out = new Map<string, types.IPAddress[]>();
  for (const line of text.split("\n")) {
    const m = line.match(/^\d+:\s+(\S+?)(?:@\S+)?\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)/);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(create(types.IPAddressSchema, {
      family: m[2] === "inet6" ? types.IPFamily.v6 : types.IPFamily.v4,
      address: m[3]!,
      mask: m[4]!,
    }));
    out.set(m[1]!, list);
  }
  return out;
}

/** Parses `ip route show` output. */
export function parseRoutes(text: string, family: types.IPFamily): types.Route[] {
  const out: types.Route[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (!words[0] || ["broadcast", "local", "unreachable", "multicast"].includes(words[0])) {
      continue;
    }
    const after = (k: string) => {
      const i = words.indexOf(k);
      return i >= 0 ? words[i + 1] ?? "" : "";
    };
    const scope = after("scope");
    out.push(create(types.RouteSchema, {
      dest: words[0] === "default" ? "" : words[0],
      gateway: after("via"),
      device: after("dev"),
      source: after("src"),
      scope: scope === "link" ? 253 : scope === "host" ? 254 : 0,
      family,
      mtu: Number(after("mtu") || "0"),
    }));
  }
  return out;
}
