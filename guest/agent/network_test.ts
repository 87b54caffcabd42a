import assert from "node:assert/strict";
import { join } from "node:path";
import { create, types } from "@coco/lib/proto";
import { GuestNetwork, parseAddrs, parseRoutes, prefixLength, routeArgs } from "./network.ts";

const ADDRS = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever
2: eth0    inet 10.0.2.15/24 scope global eth0\\       valid_lft forever
2: eth0    inet6 fe80::5054:ff:fe12:3456/64 scope link \\       valid_lft forever
`;
const ROUTES = `default via 10.0.2.2 dev eth0
10.0.2.0/24 dev eth0 scope link  src 10.0.2.15
192.168.9.0/24 dev eth0 scope link
`;

/** A fake sysfs with eth0 and lo, and an `ip` that records its argv. */
async function withFake(fn: (net: GuestNetwork, calls: string[]) => Promise<void>) {
  const sys = await Deno.makeTempDir();
  const calls: string[] = [];
  try {
    for (const [l, mac] of [["lo", "00:00:00:00:00:00"], ["eth0", "52:54:00:12:34:56"]]) {
      await Deno.mkdir(join(sys, l!));
      await Deno.writeTextFile(join(sys, l!, "address"), `${mac}\n`);
      await Deno.writeTextFile(join(sys, l!, "mtu"), "1500\n");
      await Deno.writeTextFile(join(sys, l!, "flags"), "0x1003\n");
    }
    const run = (args: string[]) => {
      calls.push(args.join(" "));
      if (args.join(" ") === "-o addr show") return Promise.resolve(ADDRS);
      if (args.join(" ") === "-4 route show") return Promise.resolve(ROUTES);
      return Promise.resolve("");
    };
    const arp = (args: string[]) => {
      calls.push(`arp ${args.join(" ")}`);
      return Promise.resolve("");
    };
    await fn(new GuestNetwork(run, sys, arp), calls);
  } finally {
    await Deno.remove(sys, { recursive: true });
  }
}

const iface = (init: Parameters<typeof create<typeof types.InterfaceSchema>>[1]) =>
  create(types.InterfaceSchema, init);

Deno.test("updateInterface() finds the link by MAC and replaces addresses, MTU and state", async () => {
  await withFake(async (net, calls) => {
    const out = await net.updateInterface(iface({
      name: "eth0",
      hwAddr: "52:54:00:12:34:56",
      mtu: 1400n,
      IPAddresses: [{ address: "10.0.2.15", mask: "255.255.255.0" }],
    }));
    assert.deepEqual(calls.slice(0, 5), [
      "link set dev eth0 down",
      "addr flush dev eth0",
      "link set dev eth0 mtu 1400",
      "addr add 10.0.2.15/24 dev eth0",
      "link set dev eth0 up",
    ]);
    assert.equal(out.name, "eth0");
    assert.equal(out.IPAddresses[0]?.address, "10.0.2.15");
  });
});

Deno.test("updateInterface() refuses hostile input before running anything", async () => {
  await withFake(async (net, calls) => {
    const bad = [
      iface({ name: "eth0; reboot", hwAddr: "52:54:00:12:34:56" }),
      iface({ name: "eth0", hwAddr: "not-a-mac" }),
      iface({ name: "eth0", hwAddr: "52:54:00:12:34:56", IPAddresses: [{ address: "-x" }] }),
      iface({ name: "lo", hwAddr: "00:00:00:00:00:00" }),
      iface({ name: "eth0", hwAddr: "52:54:00:12:34:56", mtu: 1n }),
    ];
    for (const i of bad) await assert.rejects(net.updateInterface(i), { code: "invalid-argument" });
    await assert.rejects(
      net.updateInterface(iface({ name: "eth1", hwAddr: "02:00:00:00:00:01" })),
      { code: "not-found" },
    );
    assert.deepEqual(calls, []);
  });
});

Deno.test("updateRoutes() deletes stale routes, keeps kernel routes, adds link routes first", async () => {
  await withFake(async (net, calls) => {
    await net.updateRoutes([
      create(types.RouteSchema, { dest: "", gateway: "10.0.2.100", device: "eth0" }),
      create(types.RouteSchema, { dest: "10.0.2.0/24", device: "eth0", scope: 253 }),
    ]);
    const changes = calls.filter((c) => c.startsWith("route "));
    assert.deepEqual(changes, [
      "route del default via 10.0.2.2 dev eth0",
      "route del 192.168.9.0/24 dev eth0 scope link",
      "route replace 10.0.2.0/24 dev eth0 scope link",
      "route replace default via 10.0.2.100 dev eth0",
    ]);
  });
});

Deno.test("routeArgs() and prefixLength() refuse malformed values", () => {
  assert.throws(() => routeArgs(create(types.RouteSchema, { dest: "10.0.0.0/8" })), {
    code: "invalid-argument",
  });
  assert.throws(() => routeArgs(create(types.RouteSchema, { dest: "x", device: "eth0" })), {
    code: "invalid-argument",
  });
  assert.throws(() => prefixLength("255.0.255.0", false), { code: "invalid-argument" });
  assert.equal(prefixLength("255.255.0.0", false), 16);
  assert.equal(prefixLength("64", true), 64);
});

Deno.test("parseAddrs() and parseRoutes() read busybox ip output", () => {
  const addrs = parseAddrs(ADDRS);
  assert.deepEqual(addrs.get("eth0")?.map((a) => `${a.address}/${a.mask}`), [
    "10.0.2.15/24",
    "fe80::5054:ff:fe12:3456/64",
  ]);
  const routes = parseRoutes(ROUTES, types.IPFamily.v4);
  assert.equal(routes[0]?.gateway, "10.0.2.2");
  assert.equal(routes[0]?.dest, "");
  assert.equal(routes[1]?.source, "10.0.2.15");
  assert.equal(routes[1]?.scope, 253);
});

Deno.test("addArpNeighbors() adds validated neighbors and refuses bad ones before any", async () => {
  await withFake(async (net, calls) => {
    const n = (address: string, lladdr: string, state = 0x80, device = "eth0") =>
      create(types.ARPNeighborSchema, { toIPAddress: { address }, device, lladdr, state });
    await net.addArpNeighbors([
      n("10.0.2.2", "52:54:00:AA:BB:CC"),
      n("10.0.2.3", "52:54:00:aa:bb:cd", 0x02),
      n("fd00::1", "52:54:00:aa:bb:ce", 0),
    ]);
    assert.deepEqual(calls, [
      "arp -i eth0 -s 10.0.2.2 52:54:00:aa:bb:cc",
      "arp -i eth0 -s 10.0.2.3 52:54:00:aa:bb:cd temp",
      "neigh replace fd00::1 lladdr 52:54:00:aa:bb:ce dev eth0 nud permanent",
    ]);
    calls.length = 0;
    for (
      const [bad, re] of [
        [n("10.0.2.4", "52:54:00:aa:bb:ce", 0x03), /not a NUD state/],
        [n("10.0.2.4; reboot", "52:54:00:aa:bb:ce"), /not an IP address/],
        [n("10.0.2.4", "zz:54:00:aa:bb:ce"), /not a MAC address/],
        [n("10.0.2.4", "52:54:00:aa:bb:ce", 0x80, "eth0 up"), /not an interface name/],
      ] as const
    ) {
      await assert.rejects(net.addArpNeighbors([n("10.0.2.9", "52:54:00:aa:bb:00"), bad]), re);
    }
    assert.deepEqual(calls, []);
  });
});
