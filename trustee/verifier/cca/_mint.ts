/**
 * Mints CCA tokens for tests and benches, the way upstream's `evcli cca create` does for
 * `kbs-test-client.sh`: claims from the upstream example (implementation/instance ids of
 * tastore.json, firmware of rvstore.json, RIM ae87fbf7…), the platform token signed with
 * `cpak-priv.json`, the realm token with `rak-priv.json`, and the platform challenge set to the
 * hash of the RAK. Every field can be overridden to build tampered tokens.
 *
 * @module
 */
import { ab } from "@coco/lib/bytes";
import { type CborKey, CborTag, type CborValue, encodeCbor } from "./cbor.ts";
import { signCoseSign1 } from "./cose.ts";
import { readTestdata } from "./_testdata.ts";
import { CLAIM, PLATFORM_LABEL, REALM_LABEL, REALM_PROFILE_2023 } from "./token.ts";

/** Upstream example implementation id (tastore.json / rvstore.json). */
export const IMPL_ID = Uint8Array.fromHex(
  "7f454c4602010100000000000000000003003e00010000005058000000000000",
);
/** Upstream example instance id (tastore.json). */
export const INST_ID = Uint8Array.fromHex(
  "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918",
);
/** Upstream example realm initial measurement (rvstore.json, the example token's RIM). */
export const RIM = Uint8Array.fromHex(
  "ae87fbf7f105e71a7827cb6f0896889c73d2beaf4830d4f9cb05e3e96c3fc7b4faa04caf36a26bd094cf9c7b738617e4c189aaee184dedda5d7a03c39dbdac7c",
);

/** The signing keys of the upstream test material. */
export interface MintKeys {
  cpak: CryptoKey;
  rak: CryptoKey;
  /** The RAK public key as an uncompressed P-384 point. */
  rakPoint: Uint8Array;
  /** The RAK public key as an EC2 COSE_Key (for the 2023 realm profile). */
  rakCoseKey: Uint8Array;
}

interface PrivateJwk {
  crv: string;
  d: string;
  x: string;
  y: string;
}

async function privateKey(name: string): Promise<[CryptoKey, PrivateJwk]> {
  const jwk = JSON.parse(await readTestdata(name)) as PrivateJwk;
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", ...jwk },
    { name: "ECDSA", namedCurve: jwk.crv },
    false,
    ["sign"],
  );
  return [key, jwk];
}

const b64u = (s: string) => Uint8Array.fromBase64(s, { alphabet: "base64url" });

/** Loads cpak-priv.json and rak-priv.json. */
export async function mintKeys(): Promise<MintKeys> {
  const [cpak] = await privateKey("cpak-priv.json");
  const [rak, jwk] = await privateKey("rak-priv.json");
  const x = b64u(jwk.x);
  const y = b64u(jwk.y);
  const rakPoint = new Uint8Array([0x04, ...x, ...y]);
  const rakCoseKey = encodeCbor(new Map<CborKey, CborValue>([[1, 2], [-1, 2], [-2, x], [-3, y]]));
  return { cpak, rak, rakPoint, rakCoseKey };
}

/** What to put in a minted token; everything but the realm challenge has a default. */
export interface MintOptions {
  realmChallenge: Uint8Array;
  personalization?: Uint8Array;
  rim?: Uint8Array;
  rems?: Uint8Array[];
  rakHashAlg?: "sha-256" | "sha-384" | "sha-512";
  /** Use the 2023 realm profile (RAK as COSE_Key) instead of the legacy raw point. */
  realmProfile2023?: boolean;
  /** Override the platform challenge (default: hash of the RAK claim). */
  platformChallenge?: Uint8Array;
  instanceId?: Uint8Array;
  implementationId?: Uint8Array;
  /** Sign the platform token with this key instead of the CPAK. */
  platformSigner?: CryptoKey;
  /** Sign the realm token with this key instead of the RAK. */
  realmSigner?: CryptoKey;
}

let swComponents: CborValue[] | undefined;

async function firmware(): Promise<CborValue[]> {
  if (swComponents) return swComponents;
  const rv = JSON.parse(await readTestdata("rvstore.json")) as {
    platform: { "sw-components": Record<string, string>[] }[];
  };
  swComponents = rv.platform[0]!["sw-components"].map((c) =>
    new Map<CborKey, CborValue>([
      [1, c["component-type"]!],
      [2, Uint8Array.fromHex(c["measurement-value"]!)],
      [4, "1.0.0"],
      [5, Uint8Array.fromHex(c["signer-id"]!)],
      [6, "sha-256"],
    ])
  );
  return swComponents;
}

const HASH = { "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" } as const;

/** Mints a CCA token (tag 399 collection) signed with the upstream test keys. */
export async function mintCcaToken(keys: MintKeys, o: MintOptions): Promise<Uint8Array> {
  const rakHashAlg = o.rakHashAlg ?? "sha-256";
  const rak = o.realmProfile2023 ? keys.rakCoseKey : keys.rakPoint;
  const realm = new Map<CborKey, CborValue>([
    [CLAIM.challenge, o.realmChallenge],
    [CLAIM.perso, o.personalization ?? new Uint8Array(64)],
    [CLAIM.realmHashAlg, "sha-512"],
    [CLAIM.rak, rak],
    [CLAIM.rim, o.rim ?? RIM],
    [CLAIM.rems, o.rems ?? [0, 1, 2, 3].map(() => new Uint8Array(64))],
    [CLAIM.rakHashAlg, rakHashAlg],
  ]);
  if (o.realmProfile2023) realm.set(CLAIM.profile, REALM_PROFILE_2023);
  const challenge = o.platformChallenge ??
    new Uint8Array(await crypto.subtle.digest(HASH[rakHashAlg], ab(rak)));
  const platform = new Map<CborKey, CborValue>([
    [CLAIM.profile, "http://arm.com/CCA-SSD/1.0.0"],
    [CLAIM.challenge, challenge],
    [CLAIM.implementationId, o.implementationId ?? IMPL_ID],
    [CLAIM.instanceId, o.instanceId ?? INST_ID],
    [CLAIM.config, Uint8Array.fromHex("cfcfcfcf")],
    [CLAIM.lifecycle, 0x3003],
    [CLAIM.swComponents, await firmware()],
    [CLAIM.verificationService, "https://veraison.example/.well-known/veraison/verification"],
    [CLAIM.platformHashAlg, "sha-256"],
  ]);
  const p = await signCoseSign1(encodeCbor(platform), o.platformSigner ?? keys.cpak, -35);
  const r = await signCoseSign1(encodeCbor(realm), o.realmSigner ?? keys.rak, -35);
  return encodeCbor(new CborTag(399, new Map([[PLATFORM_LABEL, p], [REALM_LABEL, r]])));
}
