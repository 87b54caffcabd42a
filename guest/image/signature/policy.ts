/**
 * containers `policy.json` (spec/guest.md §6.1), parsed strictly: unknown requirement types,
 * unknown fields, empty requirement lists and keyless sigstore options are errors naming the
 * path. The shape follows containers-policy.json(5); see README for differences from image-rs.
 */
import { isJsonObject } from "@coco/lib/json";
import { SignatureError } from "./errors.ts";
import { parseSignedIdentity, type SignedIdentity } from "./identity.ts";

/** Where public keys come from: paths/URIs (file, `kbs:///`) or inline data. */
export type KeySource =
  | { kind: "paths"; paths: string[] }
  | { kind: "data"; data: string[] };

/** One policy requirement. */
export type Requirement =
  | { type: "insecureAcceptAnything" }
  | { type: "reject" }
  | { type: "signedBy"; keys: KeySource; signedIdentity: SignedIdentity }
  | { type: "sigstoreSigned"; keys: KeySource; signedIdentity: SignedIdentity };

/** A parsed policy. */
export interface Policy {
  default: Requirement[];
  /** transport → scope → requirements. */
  transports: Record<string, Record<string, Requirement[]>>;
}

function fail(path: string, why: string): never {
  throw new SignatureError("invalid-policy", `Invalid policy: ${path}: ${why}`);
}

function only(o: Record<string, unknown>, allowed: string[], path: string) {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(path, `unknown field "${k}"`);
  }
}

function keys(
  o: Record<string, unknown>,
  path: string,
  names: { path: string; paths: string; data: string; datas?: string },
): KeySource {
  const present = [names.path, names.paths, names.data, names.datas].filter((k) =>
    k !== undefined && o[k] !== undefined
  );
  if (present.length !== 1) {
    fail(path, `exactly one of ${names.path}, ${names.paths}, ${names.data} is required`);
  }
  const strings = (k: string): string[] => {
    const v = o[k];
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || !list.every((s) => typeof s === "string" && s !== "")) {
      fail(`${path}.${k}`, "must be a non-empty string (or list of them)");
    }
    return list as string[];
  };
  const k = present[0]!;
  return k === names.path || k === names.paths
    ? { kind: "paths", paths: strings(k) }
    : { kind: "data", data: strings(k) };
}

function parseRequirement(v: unknown, path: string): Requirement {
  if (!isJsonObject(v)) fail(path, "must be an object");
  const type = v["type"];
  switch (type) {
    case "insecureAcceptAnything":
    case "reject":
      only(v, ["type"], path);
      return { type };
    case "signedBy": {
      only(v, ["type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"], path);
      if (v["keyType"] !== "GPGKeys") {
        fail(`${path}.keyType`, `must be "GPGKeys" (got ${JSON.stringify(v["keyType"])})`);
      }
      return {
        type,
        keys: keys(v, path, { path: "keyPath", paths: "keyPaths", data: "keyData" }),
        signedIdentity: parseSignedIdentity(v["signedIdentity"], `${path}.signedIdentity`, type),
      };
    }
    case "sigstoreSigned": {
      for (const keyless of ["fulcio", "pki", "rekorPublicKeyPath", "rekorPublicKeyData"]) {
        if (v[keyless] !== undefined) {
          fail(`${path}.${keyless}`, "keyless (Fulcio/Rekor/PKI) verification is not supported");
        }
      }
      only(v, ["type", "keyPath", "keyPaths", "keyData", "keyDatas", "signedIdentity"], path);
      return {
        type,
        keys: keys(v, path, {
          path: "keyPath",
          paths: "keyPaths",
          data: "keyData",
          datas: "keyDatas",
        }),
        signedIdentity: parseSignedIdentity(v["signedIdentity"], `${path}.signedIdentity`, type),
      };
    }
    default:
      fail(`${path}.type`, `unknown requirement type ${JSON.stringify(type)}`);
  }
}

function parseRequirements(v: unknown, path: string): Requirement[] {
  if (!Array.isArray(v)) fail(path, "must be a list of requirements");
  if (v.length === 0) fail(path, "an empty requirement list is not allowed");
  return v.map((r, i) => parseRequirement(r, `${path}[${i}]`));
}

const SCOPE = /^(?:\*\.[a-z0-9.-]+|[a-zA-Z0-9.-]+(?::\d+)?(?:\/[a-z0-9._\/-]+)?(?:[:@][\w.:-]+)?)$/;

/** Parses policy.json text (or bytes). */
export function parsePolicy(input: string | Uint8Array): Policy {
  const text = typeof input === "string" ? input : new TextDecoder().decode(input);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SignatureError("invalid-policy", `Invalid policy: not JSON: ${err}`, { cause: err });
  }
  if (!isJsonObject(v)) fail("(root)", "must be an object");
  only(v, ["default", "transports"], "(root)");
  if (v["default"] === undefined) fail("default", "is required");
  const policy: Policy = { default: parseRequirements(v["default"], "default"), transports: {} };
  const transports = v["transports"] ?? {};
  if (!isJsonObject(transports)) fail("transports", "must be an object");
  for (const [t, scopes] of Object.entries(transports)) {
    if (!isJsonObject(scopes)) fail(`transports.${t}`, "must be an object of scopes");
    const out: Record<string, Requirement[]> = {};
    for (const [scope, reqs] of Object.entries(scopes)) {
      if (t === "docker" && scope !== "" && !SCOPE.test(scope)) {
        fail(`transports.docker["${scope}"]`, "is not a reference, namespace or *.domain");
      }
      out[scope] = parseRequirements(reqs, `transports.${t}["${scope}"]`);
    }
    policy.transports[t] = out;
  }
  return policy;
}
