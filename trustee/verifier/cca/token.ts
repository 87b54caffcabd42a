/**
 * The Arm CCA attestation token (spec/evidence.md §9): a CBOR tag-399 collection
 * `{44234: platform COSE_Sign1, 44241: realm COSE_Sign1}`, and the claims inside each token.
 * Every mandatory claim is checked for presence, type and size; unknown claims are ignored (EAT).
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import { type CborKey, CborTag, type CborValue, decodeCbor } from "./cbor.ts";
import { type CoseSign1, parseCoseSign1 } from "./cose.ts";

/** CBOR tag of the (legacy) CCA token collection. */
export const CCA_COLLECTION_TAG = 399;
/** Collection label of the platform token. */
export const PLATFORM_LABEL = 44234;
/** Collection label of the realm token. */
export const REALM_LABEL = 44241;

/** Platform and realm claim labels (CBOR integer keys). */
export const CLAIM = {
  challenge: 10,
  profile: 265,
  instanceId: 256,
  lifecycle: 2395,
  swComponents: 2399,
  verificationService: 2400,
  config: 2401,
  implementationId: 2396,
  platformHashAlg: 2402,
  perso: 44235,
  realmHashAlg: 44236,
  rak: 44237,
  rim: 44238,
  rems: 44239,
  rakHashAlg: 44240,
} as const;

/** Platform token profiles we accept. */
export const PLATFORM_PROFILES = [
  "http://arm.com/CCA-SSD/1.0.0",
  "tag:arm.com,2023:cca_platform#1.0.0",
] as const;
/** The realm profile whose RAK is a COSE_Key (absent profile = legacy raw point). */
export const REALM_PROFILE_2023 = "tag:arm.com,2023:realm#1.0.0";

/** The CCA token did not have the expected structure. */
export class CcaTokenError extends CodedError<"malformed"> {}

/** One measured platform firmware component. */
export interface SwComponent {
  type?: string;
  measurement: Uint8Array;
  version?: string;
  signerId: Uint8Array;
  hashAlg?: string;
}

/** Claims of the platform token. */
export interface PlatformClaims {
  profile: string;
  challenge: Uint8Array;
  implementationId: Uint8Array;
  instanceId: Uint8Array;
  config: Uint8Array;
  lifecycle: number;
  swComponents: SwComponent[];
  verificationService?: string;
  hashAlg: string;
}

/** Claims of the realm token; `rak` holds the key claim bytes exactly as signed. */
export interface RealmClaims {
  profile?: string;
  challenge: Uint8Array;
  personalization: Uint8Array;
  hashAlg: string;
  rak: Uint8Array;
  rakIsCoseKey: boolean;
  rim: Uint8Array;
  rems: Uint8Array[];
  rakHashAlg: string;
}

/** A decoded CCA token: both COSE envelopes and both claim sets (signatures not yet checked). */
export interface CcaToken {
  platform: CoseSign1;
  realm: CoseSign1;
  platformClaims: PlatformClaims;
  realmClaims: RealmClaims;
}

const bad = (msg: string) => new CcaTokenError("malformed", msg);

class Claims {
  constructor(readonly map: Map<CborKey, CborValue>, readonly what: string) {}

  bytes(label: number, name: string, sizes?: readonly number[]): Uint8Array {
    const v = this.map.get(label);
    if (v === undefined) throw bad(`${this.what} is missing the ${name} claim (${label})`);
    return checkBytes(v, `${this.what} ${name} claim (${label})`, sizes);
  }

  text(label: number, name: string): string {
    const v = this.map.get(label);
    if (v === undefined) throw bad(`${this.what} is missing the ${name} claim (${label})`);
    if (typeof v !== "string") throw bad(`${this.what} ${name} claim (${label}) is not text`);
    return v;
  }

  optionalText(label: number, name: string): string | undefined {
    return this.map.has(label) ? this.text(label, name) : undefined;
  }
}

function checkBytes(v: CborValue, what: string, sizes?: readonly number[]): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(`${what} is not a byte string`);
  if (sizes && !sizes.includes(v.length)) {
    throw bad(`${what} is ${v.length} bytes, expected ${sizes.join(" or ")}`);
  }
  return v;
}

const MEASUREMENT = [32, 48, 64] as const;
const HASH_ALGS = ["sha-256", "sha-384", "sha-512"];

function hashAlg(c: Claims, label: number, name: string): string {
  const v = c.text(label, name);
  if (!HASH_ALGS.includes(v)) {
    throw bad(`${c.what} ${name} claim is "${v}", expected one of ${HASH_ALGS.join(", ")}`);
  }
  return v;
}

function swComponent(v: CborValue, i: number): SwComponent {
  if (!(v instanceof Map)) throw bad(`platform sw component ${i} is not a map`);
  const c = new Claims(v, `platform sw component ${i}`);
  const out: SwComponent = {
    measurement: c.bytes(2, "measurement value", MEASUREMENT),
    signerId: c.bytes(5, "signer id", MEASUREMENT),
  };
  const type = c.optionalText(1, "measurement type");
  const version = c.optionalText(4, "version");
  const alg = c.optionalText(6, "hash algorithm");
  if (type !== undefined) out.type = type;
  if (version !== undefined) out.version = version;
  if (alg !== undefined) out.hashAlg = alg;
  return out;
}

function decodeClaimsMap(payload: Uint8Array, what: string): Map<CborKey, CborValue> {
  let v: CborValue;
  try {
    v = decodeCbor(payload);
  } catch (err) {
    throw bad(`${what} claims are not valid CBOR: ${(err as Error).message}`);
  }
  if (!(v instanceof Map)) throw bad(`${what} claims are not a CBOR map`);
  return v;
}

/** Decodes and checks the platform claims set. */
export function parsePlatformClaims(payload: Uint8Array): PlatformClaims {
  const c = new Claims(decodeClaimsMap(payload, "platform token"), "platform token");
  const profile = c.text(CLAIM.profile, "profile");
  if (!(PLATFORM_PROFILES as readonly string[]).includes(profile)) {
    throw bad(`platform token profile "${profile}" is not supported`);
  }
  const lifecycle = c.map.get(CLAIM.lifecycle);
  if (typeof lifecycle !== "number" || lifecycle < 0 || lifecycle > 0xffff) {
    throw bad(`platform token lifecycle claim (${CLAIM.lifecycle}) is not a 16-bit unsigned int`);
  }
  const sw = c.map.get(CLAIM.swComponents);
  if (!Array.isArray(sw)) {
    throw bad(`platform token sw components claim (${CLAIM.swComponents}) is not an array`);
  }
  const out: PlatformClaims = {
    profile,
    challenge: c.bytes(CLAIM.challenge, "challenge", MEASUREMENT),
    implementationId: c.bytes(CLAIM.implementationId, "implementation id", [32]),
    instanceId: c.bytes(CLAIM.instanceId, "instance id", [33]),
    config: c.bytes(CLAIM.config, "config"),
    lifecycle,
    swComponents: sw.map(swComponent),
    hashAlg: hashAlg(c, CLAIM.platformHashAlg, "hash algorithm"),
  };
  const vs = c.optionalText(CLAIM.verificationService, "verification service");
  if (vs !== undefined) out.verificationService = vs;
  return out;
}

/** Decodes and checks the realm claims set. */
export function parseRealmClaims(payload: Uint8Array): RealmClaims {
  const c = new Claims(decodeClaimsMap(payload, "realm token"), "realm token");
  const profile = c.optionalText(CLAIM.profile, "profile");
  if (profile !== undefined && profile !== REALM_PROFILE_2023) {
    throw bad(`realm token profile "${profile}" is not supported`);
  }
  const rems = c.map.get(CLAIM.rems);
  if (!Array.isArray(rems) || rems.length !== 4) {
    throw bad(`realm token extensible measurements claim (${CLAIM.rems}) is not an array of 4`);
  }
  const rakIsCoseKey = profile === REALM_PROFILE_2023;
  const out: RealmClaims = {
    challenge: c.bytes(CLAIM.challenge, "challenge", [64]),
    personalization: c.bytes(CLAIM.perso, "personalization value", [64]),
    hashAlg: hashAlg(c, CLAIM.realmHashAlg, "hash algorithm"),
    rak: c.bytes(CLAIM.rak, "public key (RAK)", rakIsCoseKey ? undefined : [97]),
    rakIsCoseKey,
    rim: c.bytes(CLAIM.rim, "initial measurement", MEASUREMENT),
    rems: rems.map((v, i) => checkBytes(v, `realm token REM[${i}]`, MEASUREMENT)),
    rakHashAlg: hashAlg(c, CLAIM.rakHashAlg, "public key hash algorithm"),
  };
  if (profile !== undefined) out.profile = profile;
  return out;
}

function tokenBytes(v: CborValue | undefined, what: string): Uint8Array {
  if (v === undefined) throw bad(`CCA token has no ${what}`);
  if (!(v instanceof Uint8Array)) throw bad(`CCA token ${what} is not a byte string`);
  return v;
}

/** Decodes a CCA token (tag 399 collection); signatures are checked by the verifier. */
export function decodeCcaToken(bytes: Uint8Array): CcaToken {
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (err) {
    throw bad(`CCA token is not valid CBOR: ${(err as Error).message}`);
  }
  if (!(v instanceof CborTag) || !(v.value instanceof Map)) {
    throw bad("CCA token is not a CBOR tag 399 collection map");
  }
  if (v.tag !== CCA_COLLECTION_TAG) {
    throw bad(`CCA token has CBOR tag ${v.tag}, expected ${CCA_COLLECTION_TAG}`);
  }
  for (const k of v.value.keys()) {
    if (k !== PLATFORM_LABEL && k !== REALM_LABEL) {
      throw bad(`CCA token collection has unknown key ${String(k)}`);
    }
  }
  const platformBytes = tokenBytes(v.value.get(PLATFORM_LABEL), "platform token (44234)");
  const realmBytes = tokenBytes(v.value.get(REALM_LABEL), "realm token (44241)");
  const platform = parseCoseSign1(platformBytes, "platform token");
  const realm = parseCoseSign1(realmBytes, "realm token");
  return {
    platform,
    realm,
    platformClaims: parsePlatformClaims(platform.payload),
    realmClaims: parseRealmClaims(realm.payload),
  };
}
