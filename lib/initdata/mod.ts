/**
 * Init-data documents (spec/trustee.md §7, spec/guest.md §8): TOML with `version`, `algorithm`
 * and a string→string `data` map. The digest is taken over the exact bytes as received. The
 * trustee turns the data into policy claims (`cdh.toml`/`aa.toml` parsed, `policy.rego`'s
 * `policy_data` object lifted into `agent_policy_claims`).
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { CodedError } from "../errors.ts";
import type { JsonValue } from "../json/mod.ts";
import { obj, str } from "../json/fields.ts";
import { digest } from "../kbs/runtime_data.ts";
import type { HashAlgorithm } from "../kbs/types.ts";

export class InitDataError extends CodedError<"bad-init-data"> {}

export interface InitData {
  version: string;
  algorithm: HashAlgorithm;
  data: Record<string, string>;
}

const ALGORITHMS: readonly HashAlgorithm[] = ["sha256", "sha384", "sha512", "sm3"];

/** Parses init-data TOML text. Algorithm names are lowercase as upstream code accepts them. */
export function parseInitDataToml(text: string): InitData {
  try {
    const o = obj(parseToml(text), "init-data");
    const algorithm = str(o.algorithm, "algorithm");
    if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new TypeError(`algorithm \`${algorithm}\` is not one of ${ALGORITHMS.join(", ")}`);
    }
    const rawData = o.data === undefined ? {} : obj(o.data, "data");
    const data: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(rawData)) data[k] = str(v, `data.${k}`);
    return { version: str(o.version, "version"), algorithm: algorithm as HashAlgorithm, data };
  } catch (err) {
    throw new InitDataError("bad-init-data", `Cannot parse init-data: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Digest of the init-data text with its own algorithm, over the exact UTF-8 bytes. */
export function initDataDigest(text: string, algorithm: HashAlgorithm): Uint8Array {
  return digest(algorithm, new TextEncoder().encode(text));
}

/** Claims the trustee exposes to policies for a parsed init-data document. */
export function initDataClaims(init: InitData): Record<string, JsonValue> {
  const claims: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(init.data)) {
    if (key === "cdh.toml" || key === "aa.toml") {
      try {
        claims[key] = JSON.parse(JSON.stringify(parseToml(value))) as JsonValue;
        continue;
      } catch {
        // not TOML: keep the text, as upstream does
      }
    }
    if (key === "policy.rego") {
      const at = value.indexOf("policy_data := {");
      if (at >= 0) {
        try {
          claims.agent_policy_claims = JSON.parse(
            value.slice(at + "policy_data := ".length),
          ) as JsonValue;
          continue;
        } catch {
          // fall through and keep the policy text
        }
      }
    }
    claims[key] = value;
  }
  return claims;
}

export {
  decodeInitDataDisk,
  digestForField,
  encodeInitDataDisk,
  hasInitDataMagic,
  initDataAnnotation,
  InitDataDiskError,
  MAX_INIT_DATA_BYTES,
  parseInitDataAnnotation,
} from "./disk.ts";
