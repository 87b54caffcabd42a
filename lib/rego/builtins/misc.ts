/** semver, units, uuid, crypto hashes. */

import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { ObjectValue, type Value } from "../value.ts";
import { BuiltinError, type BuiltinTable, define, show, str } from "./_util.ts";

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function semverCmp(a: string, b: string): number {
  const ma = SEMVER.exec(a), mb = SEMVER.exec(b);
  if (!ma) throw new BuiltinError(`\`semver.compare\`: ${show(a)} is not a valid SemVer`);
  if (!mb) throw new BuiltinError(`\`semver.compare\`: ${show(b)} is not a valid SemVer`);
  for (let i = 1; i <= 3; i++) {
    const d = BigInt(ma[i]!) - BigInt(mb[i]!);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  const pa = ma[4], pb = mb[4];
  if (pa === pb) return 0;
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  const xa = pa.split("."), xb = pb.split(".");
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const x = xa[i], y = xb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x), ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (nx !== ny) return nx ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const SI: Record<string, number> = {
  "": 1,
  k: 1e3,
  K: 1e3,
  m: 1e-3,
  M: 1e6,
  g: 1e9,
  G: 1e9,
  t: 1e12,
  T: 1e12,
  p: 1e15,
  P: 1e15,
  e: 1e18,
  E: 1e18,
};
const BIN: Record<string, number> = {
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
  ei: 2 ** 60,
};

function parseUnits(name: string, s: string, bytes: boolean): number {
  const x = s.replaceAll('"', "");
  if (/\s/.test(x)) throw new BuiltinError(`\`${name}\`: spaces not allowed in resource string`);
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(x);
  if (!m) throw new BuiltinError(`\`${name}\`: could not parse ${show(s)}`);
  const n = Number(m[1]);
  let unit = m[2]!;
  if (bytes) {
    unit = unit.toLowerCase();
    if (unit.endsWith("b")) unit = unit.slice(0, -1);
    if (unit === "") return Math.trunc(n);
    if (BIN[unit]) return Math.trunc(n * BIN[unit]!);
    const si = SI[unit];
    if (si === undefined || unit === "m") {
      throw new BuiltinError(`\`${name}\`: unknown unit ${show(m[2]!)}`);
    }
    return Math.trunc(n * si);
  }
  if (BIN[unit.toLowerCase()] && unit[1] === "i") return n * BIN[unit.toLowerCase()]!;
  const si = SI[unit];
  if (si === undefined) throw new BuiltinError(`\`${name}\`: unknown unit ${show(unit)}`);
  return unit === "m" ? n / 1000 : n * si;
}

const UUID =
  /^(?:urn:uuid:)?\{?([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})\}?$/;

function uuidParse(s: string): Value | undefined {
  const m = UUID.exec(s);
  if (!m) return undefined;
  const hex = m.slice(1).join("").toLowerCase();
  const version = parseInt(hex[12]!, 16);
  const varNib = parseInt(hex[16]!, 16);
  const variant = varNib < 8
    ? "Reserved, NCS backward compatibility."
    : varNib < 12
    ? "RFC4122"
    : varNib < 14
    ? "Reserved, Microsoft Corporation backward compatibility."
    : "Reserved for future definition.";
  const out = new ObjectValue([["version", version], ["variant", variant]]);
  if (variant !== "RFC4122") return out;
  if (version === 1 || version === 2) {
    const time = (BigInt("0x" + hex.slice(13, 16)) << 48n) |
      (BigInt("0x" + hex.slice(8, 12)) << 32n) | BigInt("0x" + hex.slice(0, 8));
    out.set("time", Number((time - 122192928000000000n) * 100n));
    out.set("clocksequence", parseInt(hex.slice(16, 20), 16) & 0x3fff);
    out.set("nodeid", hex.slice(20).match(/../g)!.join("-"));
    const mac = parseInt(hex.slice(20, 22), 16);
    out.set("macvariables", `${mac & 2 ? "local" : "global"}:${mac & 1 ? "multicast" : "unicast"}`);
    if (version === 2) {
      out.set("id", parseInt(hex.slice(0, 8), 16));
      out.set("domain", ["Person", "Group", "Org"][parseInt(hex.slice(18, 20), 16)] ?? "Invalid");
    }
  }
  return out;
}

/** Registers misc builtins. */
export function misc(t: BuiltinTable): void {
  define(t, "semver.is_valid", 1, ([v]) => SEMVER.test(str("semver.is_valid", v)));
  define(
    t,
    "semver.compare",
    2,
    ([a, b]) => semverCmp(str("semver.compare", a), str("semver.compare", b)),
  );
  define(t, "units.parse", 1, ([s]) => parseUnits("units.parse", str("units.parse", s), false));
  define(
    t,
    "units.parse_bytes",
    1,
    ([s]) => parseUnits("units.parse_bytes", str("units.parse_bytes", s), true),
  );
  const uuids = new Map<string, string>();
  define(t, "uuid.rfc4122", 1, ([s]) => {
    const k = str("uuid.rfc4122", s);
    let u = uuids.get(k);
    if (!u) {
      if (uuids.size > 10000) uuids.clear();
      uuids.set(k, u = randomUUID());
    }
    return u;
  });
  define(t, "uuid.parse", 1, ([s]) => uuidParse(str("uuid.parse", s)));
  const hash = (name: string, algo: string) =>
    define(t, name, 1, ([s]) => createHash(algo).update(str(name, s)).digest("hex"));
  hash("crypto.md5", "md5");
  hash("crypto.sha1", "sha1");
  hash("crypto.sha256", "sha256");
  hash("crypto.sha384", "sha384");
  hash("crypto.sha512", "sha512");
  const hmac = (name: string, algo: string) =>
    define(
      t,
      name,
      2,
      ([m, k]) => createHmac(algo, str(name, k)).update(str(name, m)).digest("hex"),
    );
  hmac("crypto.hmac.md5", "md5");
  hmac("crypto.hmac.sha1", "sha1");
  hmac("crypto.hmac.sha256", "sha256");
  hmac("crypto.hmac.sha512", "sha512");
  define(t, "crypto.hmac.equal", 2, ([a, b]) => {
    const x = new TextEncoder().encode(str("crypto.hmac.equal", a));
    const y = new TextEncoder().encode(str("crypto.hmac.equal", b));
    return x.length === y.length && timingSafeEqual(x, y);
  });
}
