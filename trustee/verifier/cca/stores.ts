/**
 * Endorsement stores of the local CCA verifier, in upstream's JSON formats
 * (`deps/verifier/test_data/cca/conf/`): the trust-anchor store (CPAKs by platform instance and
 * implementation id) and the reference-value store (platform firmware, realm RIM/REMs), plus the
 * `CCA_CONFIG_FILE` document that names them.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import type { EcPublicJwk } from "./keys.ts";

/** A store or config file is malformed; the message names the file and the field. */
export class CcaStoreError extends CodedError<"bad-store" | "unsupported"> {}

/** One CPAK: the platform key with the identities it is endorsed for. */
export interface TrustAnchor {
  pkey: EcPublicJwk;
  implementationId: Uint8Array;
  instanceId: Uint8Array;
}

/** One acceptable platform state. */
export interface PlatformRefValue {
  implementationId: Uint8Array;
  config: Uint8Array;
  swComponents: {
    type?: string;
    measurement: Uint8Array;
    signerId: Uint8Array;
    version?: string;
  }[];
}

/** One acceptable realm state; an empty `rems` means "REMs not checked". */
export interface RealmRefValue {
  rim: Uint8Array;
  rems: Uint8Array[];
  personalization?: Uint8Array;
  rakHashAlg?: string;
}

/** The reference-value store. */
export interface RefValueStore {
  platform: PlatformRefValue[];
  realm: RealmRefValue[];
}

/** The local verifier configuration: where the stores are. */
export type CcaVerifierConfig =
  | { type: "local"; taStore: string; rvStore: string }
  | { type: "remote"; address: string };

type Obj = Record<string, unknown>;

class Field {
  constructor(readonly where: string) {}

  err(msg: string): CcaStoreError {
    return new CcaStoreError("bad-store", `${this.where}: ${msg}`);
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw this.err(`${path} must be an object`);
    }
    return v as Obj;
  }

  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) throw this.err(`${path} must be an array`);
    return v;
  }

  str(v: unknown, path: string): string {
    if (typeof v !== "string") throw this.err(`${path} must be a string`);
    return v;
  }

  optStr(v: unknown, path: string): string | undefined {
    return v === undefined ? undefined : this.str(v, path);
  }

  hex(v: unknown, path: string, size?: number): Uint8Array {
    const s = this.str(v, path);
    if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw this.err(`${path} must be hex`);
    const b = Uint8Array.fromHex(s.toLowerCase());
    if (size !== undefined && b.length !== size) {
      throw this.err(`${path} must be ${size} bytes, got ${b.length}`);
    }
    return b;
  }
}

function parseJson(text: string, f: Field): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw f.err(`not JSON: ${(err as Error).message}`);
  }
}

function jwk(v: unknown, f: Field, path: string): EcPublicJwk {
  const o = f.obj(v, path);
  if (o.kty !== "EC") throw f.err(`${path}.kty must be "EC"`);
  if (o.crv !== "P-256" && o.crv !== "P-384") throw f.err(`${path}.crv must be P-256 or P-384`);
  if ("d" in o) throw f.err(`${path} holds a private key ("d"); store the public key only`);
  return { kty: "EC", crv: o.crv, x: f.str(o.x, `${path}.x`), y: f.str(o.y, `${path}.y`) };
}

/** Parses a trust-anchor store (`[{pkey, implementation-id, instance-id}]`); `where` names it. */
export function parseTrustAnchorStore(text: string, where = "trust-anchor store"): TrustAnchor[] {
  const f = new Field(where);
  return f.arr(parseJson(text, f), "top level").map((e, i) => {
    const o = f.obj(e, `[${i}]`);
    return {
      pkey: jwk(o.pkey, f, `[${i}].pkey`),
      implementationId: f.hex(o["implementation-id"], `[${i}].implementation-id`, 32),
      instanceId: f.hex(o["instance-id"], `[${i}].instance-id`, 33),
    };
  });
}

function platformRv(v: unknown, f: Field, p: string): PlatformRefValue {
  const o = f.obj(v, p);
  return {
    implementationId: f.hex(o["implementation-id"], `${p}.implementation-id`, 32),
    config: f.hex(o["platform-configuration"], `${p}.platform-configuration`),
    swComponents: f.arr(o["sw-components"], `${p}.sw-components`).map((c, i) => {
      const q = `${p}.sw-components[${i}]`;
      const s = f.obj(c, q);
      const out: PlatformRefValue["swComponents"][number] = {
        measurement: f.hex(s["measurement-value"], `${q}.measurement-value`),
        signerId: f.hex(s["signer-id"], `${q}.signer-id`),
      };
      const type = f.optStr(s["component-type"], `${q}.component-type`);
      const version = f.optStr(s.version, `${q}.version`);
      if (type !== undefined) out.type = type;
      if (version !== undefined) out.version = version;
      return out;
    }),
  };
}

function realmRv(v: unknown, f: Field, p: string): RealmRefValue {
  const o = f.obj(v, p);
  const rems = o["extensible-measurements"] === undefined
    ? []
    : f.arr(o["extensible-measurements"], `${p}.extensible-measurements`)
      .map((r, i) => f.hex(r, `${p}.extensible-measurements[${i}]`));
  const out: RealmRefValue = {
    rim: f.hex(o["initial-measurement"], `${p}.initial-measurement`),
    rems,
  };
  if (o["personalization-value"] !== undefined) {
    out.personalization = f.hex(o["personalization-value"], `${p}.personalization-value`, 64);
  }
  const alg = f.optStr(o["rak-hash-algorithm"], `${p}.rak-hash-algorithm`);
  if (alg !== undefined) out.rakHashAlg = alg;
  return out;
}

/** Parses a reference-value store (`{platform?: [...], realm?: [...]}`). */
export function parseRefValueStore(text: string, where = "reference-value store"): RefValueStore {
  const f = new Field(where);
  const o = f.obj(parseJson(text, f), "top level");
  const list = (k: string) => (o[k] === undefined ? [] : f.arr(o[k], k));
  return {
    platform: list("platform").map((v, i) => platformRv(v, f, `platform[${i}]`)),
    realm: list("realm").map((v, i) => realmRv(v, f, `realm[${i}]`)),
  };
}

/** Parses a `CCA_CONFIG_FILE` document (`{"cca-verifier": {type, ...}}`). */
export function parseCcaConfig(text: string, where = "CCA config"): CcaVerifierConfig {
  const f = new Field(where);
  const o = f.obj(f.obj(parseJson(text, f), "top level")["cca-verifier"], "cca-verifier");
  if (o.type === "local") {
    return {
      type: "local",
      taStore: f.str(o["ta-store"], "cca-verifier.ta-store"),
      rvStore: f.str(o["rv-store"], "cca-verifier.rv-store"),
    };
  }
  if (o.type === "remote") {
    return { type: "remote", address: f.str(o.address, "cca-verifier.address") };
  }
  throw f.err(`cca-verifier.type must be "local" or "remote", got ${JSON.stringify(o.type)}`);
}
