/**
 * COSE_Sign1 (RFC 9052) with ECDSA (ES256, ES384) over WebCrypto: parse, verify, sign.
 *
 * The algorithm must be in the *protected* header (so it is covered by the signature); a `crit`
 * header is refused because we understand no critical extensions; detached payloads are refused.
 * The signature input is the deterministic encoding of `["Signature1", protected, h'', payload]`
 * with the protected header bytes taken exactly as received.
 *
 * @module
 */
import { ab } from "@coco/lib/bytes";
import { CodedError } from "@coco/lib/errors";
import { type CborKey, CborTag, type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";

/** CBOR tag of a COSE_Sign1 message. */
export const COSE_SIGN1_TAG = 18;

/** The ECDSA algorithms we verify, by COSE algorithm id. */
export const COSE_ALGS = {
  [-7]: { name: "ES256", curve: "P-256", hash: "SHA-256", size: 32 },
  [-35]: { name: "ES384", curve: "P-384", hash: "SHA-384", size: 48 },
} as const;

/** A COSE algorithm id we support. */
export type CoseAlg = -7 | -35;

/** Why a COSE message could not be parsed or verified. */
export type CoseErrorCode = "malformed" | "unsupported-alg" | "bad-key" | "bad-signature";

/** A COSE message or key was malformed, used an unsupported algorithm or did not verify. */
export class CoseError extends CodedError<CoseErrorCode> {}

/** A parsed COSE_Sign1 message; `protectedBytes` are the bytes the signature covers. */
export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeader: Map<CborKey, CborValue>;
  unprotectedHeader: Map<CborKey, CborValue>;
  alg: CoseAlg;
  payload: Uint8Array;
  signature: Uint8Array;
}

function isAlg(v: CborValue): v is CoseAlg {
  return v === -7 || v === -35;
}

/** Parses a (tagged or untagged) COSE_Sign1 message; `what` names it in errors. */
export function parseCoseSign1(bytes: Uint8Array, what: string): CoseSign1 {
  let v: CborValue;
  try {
    v = decodeCbor(bytes);
  } catch (err) {
    throw new CoseError("malformed", `${what} is not valid CBOR: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (v instanceof CborTag) {
    if (v.tag !== COSE_SIGN1_TAG) {
      throw new CoseError("malformed", `${what} has CBOR tag ${v.tag}, expected COSE_Sign1 (18)`);
    }
    v = v.value;
  }
  if (!Array.isArray(v) || v.length !== 4) {
    throw new CoseError("malformed", `${what} is not a COSE_Sign1 array of 4 items`);
  }
  const [prot, unprot, payload, signature] = v;
  if (!(prot instanceof Uint8Array)) {
    throw new CoseError("malformed", `${what} protected header is not a byte string`);
  }
  if (!(unprot instanceof Map)) {
    throw new CoseError("malformed", `${what} unprotected header is not a map`);
  }
  if (!(payload instanceof Uint8Array)) {
    throw new CoseError("malformed", `${what} payload is missing (detached payloads unsupported)`);
  }
  if (!(signature instanceof Uint8Array)) {
    throw new CoseError("malformed", `${what} signature is not a byte string`);
  }
  let header: CborValue = new Map();
  if (prot.length) {
    try {
      header = decodeCbor(prot, { maxDepth: 4 });
    } catch (err) {
      throw new CoseError("malformed", `${what} protected header: ${(err as Error).message}`);
    }
  }
  if (!(header instanceof Map)) {
    throw new CoseError("malformed", `${what} protected header is not a map`);
  }
  if (header.has(2) || unprot.has(2)) {
    throw new CoseError("unsupported-alg", `${what} has critical header parameters (crit)`);
  }
  const alg = header.get(1);
  if (alg === undefined) {
    throw new CoseError(
      "unsupported-alg",
      `${what} has no alg in its protected header${unprot.has(1) ? " (only unprotected)" : ""}`,
    );
  }
  if (!isAlg(alg)) {
    throw new CoseError(
      "unsupported-alg",
      `${what} uses COSE algorithm ${String(alg)}; supported: ES256 (-7), ES384 (-35)`,
    );
  }
  return {
    protectedBytes: prot,
    protectedHeader: header,
    unprotectedHeader: unprot,
    alg,
    payload,
    signature,
  };
}

/** The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4), with empty external AAD. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, new Uint8Array(0), payload]);
}

/** Checks `key` is an ECDSA key on the curve `alg` requires. */
function checkKey(key: CryptoKey, alg: CoseAlg, what: string): void {
  const want = COSE_ALGS[alg].curve;
  const algo = key.algorithm as EcKeyAlgorithm;
  if (algo.name !== "ECDSA" || algo.namedCurve !== want) {
    throw new CoseError(
      "bad-key",
      `${what} is signed with ${COSE_ALGS[alg].name} but the key is ${algo.name} ${
        algo.namedCurve ?? ""
      }`.trimEnd(),
    );
  }
}

/** Verifies a parsed COSE_Sign1 with `key`; throws `bad-signature` when it does not verify. */
export async function verifyCoseSign1(msg: CoseSign1, key: CryptoKey, what: string): Promise<void> {
  checkKey(key, msg.alg, what);
  const spec = COSE_ALGS[msg.alg];
  if (msg.signature.length !== spec.size * 2) {
    throw new CoseError(
      "bad-signature",
      `${what} ${spec.name} signature is ${msg.signature.length} bytes, expected ${spec.size * 2}`,
    );
  }
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: spec.hash },
    key,
    ab(msg.signature),
    ab(sigStructure(msg.protectedBytes, msg.payload)),
  );
  if (!ok) throw new CoseError("bad-signature", `${what} signature does not verify`);
}

/** Signs `payload` as a tagged COSE_Sign1 with `alg` and a private ECDSA `key`. */
export async function signCoseSign1(
  payload: Uint8Array,
  key: CryptoKey,
  alg: CoseAlg,
): Promise<Uint8Array<ArrayBuffer>> {
  checkKey(key, alg, "COSE_Sign1 to sign");
  const protectedBytes = encodeCbor(new Map<CborKey, CborValue>([[1, alg]]));
  const signature = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: COSE_ALGS[alg].hash },
      key,
      ab(sigStructure(protectedBytes, payload)),
    ),
  );
  return encodeCbor(new CborTag(COSE_SIGN1_TAG, [protectedBytes, new Map(), payload, signature]));
}
