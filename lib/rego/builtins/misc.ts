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

/** A lookup table keyed by user text (a Map: `constructor` is not a suffix). */
function table(o: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(o));
}

/** Decimal exponents of `units.parse` suffixes (regorus adds the SI prefixes OPA lacks). */
const TEN_EXP = table({
  E: 18,
  e: 18,
  P: 15,
  p: 15,
  T: 12,
  t: 12,
  G: 9,
  g: 9,
  M: 6,
  K: 3,
  k: 3,
  m: -3,
  Q: 30,
  R: 27,
  Y: 24,
  Z: 21,
  h: 2,
  da: 1,
  d: -1,
  c: -2,
  "μ": -6,
  n: -9,
  f: -15,
  a: -18,
  z: -21,
  y: -24,
  r: -27,
  q: -30,
  "": 0,
});
/** Binary exponents of `units.parse` suffixes (case-insensitive). */
const TWO_EXP = table({
  ki: 10,
  mi: 20,
  gi: 30,
  ti: 40,
  pi: 50,
  ei: 60,
  zi: 70,
  yi: 80,
});
/** Decimal exponents of `units.parse_bytes` suffixes (lower-cased, optional `b`). */
const TENB_EXP = table({
  q: 30,
  r: 27,
  y: 24,
  z: 21,
  e: 18,
  p: 15,
  t: 12,
  g: 9,
  m: 6,
  k: 3,
});

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Splits `"1.5Ki"` into the number text (up to the last ASCII digit) and the suffix. */
function splitUnits(name: string, s: string): { num: string; suffix: string } {
  const x = s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
  if (/\s/.test(x)) throw new BuiltinError(`\`${name}\`: spaces not allowed in resource strings`);
  let last = -1;
  for (let i = x.length - 1; i >= 0; i--) {
    const c = x.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      last = i;
      break;
    }
  }
  const num = last < 0 ? x : x.slice(0, last + 1);
  if (!NUMBER.test(num)) throw new BuiltinError(`\`${name}\`: could not parse number ${show(s)}`);
  return { num, suffix: last < 0 ? "" : x.slice(last + 1) };
}

/** `num` scaled by 10^e, computed on the decimal text so that `1m` is exactly 0.001. */
function scaled10(num: string, e: number): number {
  const m = /^(.*?)(?:[eE]([+-]?\d+))?$/.exec(num)!;
  return Number(`${m[1]}e${Number(m[2] ?? 0) + e}`);
}

function roundHalfAway(n: number): number {
  return Math.sign(n) * Math.round(Math.abs(n));
}

/** `units.parse`: SI and binary suffixes; an unknown suffix is undefined (as regorus). */
function parseUnits(s: string): number | undefined {
  const { num, suffix } = splitUnits("units.parse", s);
  const ten = TEN_EXP.get(suffix);
  if (ten !== undefined) return scaled10(num, ten);
  const two = TWO_EXP.get(suffix.toLowerCase());
  return two === undefined ? undefined : Number(num) * 2 ** two;
}

/** `units.parse_bytes`: `Ki`/`KiB`/`K`/`KB`…, case-insensitive, rounded to an integer. */
function parseBytes(s: string): number | undefined {
  const { num, suffix } = splitUnits("units.parse_bytes", s);
  const low = suffix.toLowerCase();
  const base = low.endsWith("ib") ? low.slice(0, -1) : low;
  if (base === "" || TWO_EXP.has(base)) {
    return roundHalfAway(Number(num) * 2 ** (TWO_EXP.get(base) ?? 0));
  }
  const ten = TENB_EXP.get(low.endsWith("b") ? low.slice(0, -1) : low);
  return ten === undefined ? undefined : roundHalfAway(scaled10(num, ten));
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
  if (version === 6) {
    const ticks = (BigInt("0x" + hex.slice(0, 8)) << 28n) |
      (BigInt("0x" + hex.slice(8, 12)) << 12n) |
      BigInt("0x" + hex.slice(13, 16));
    out.set("time", Number((ticks - 122192928000000000n) * 100n));
  } else if (version === 7) {
    out.set("time", parseInt(hex.slice(0, 12), 16) * 1e6);
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
  define(t, "units.parse", 1, ([s]) => parseUnits(str("units.parse", s)));
  define(
    t,
    "units.parse_bytes",
    1,
    ([s]) => parseBytes(str("units.parse_bytes", s)),
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
