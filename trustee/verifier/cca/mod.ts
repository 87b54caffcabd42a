/**
 * The `cca` verifier, local mode (spec/evidence.md §9): an Arm CCA attestation token (platform
 * token signed by the CPAK, realm token signed by the RAK) checked offline against a trust-anchor
 * store, bound to the expected report data and, when given, to the init-data digest.
 *
 * Order of checks, each failure a {@linkcode VerifierError} naming the check: evidence JSON and
 * token structure (`bad-evidence`) → expected report data present (`report-data-mismatch`) →
 * stores loaded (`collateral-unavailable`) → CPAK for the platform instance id and implementation
 * id (`bad-certificate-chain`) → platform signature, realm signature, RAK binding
 * (`bad-signature`) → realm challenge == regularize(report data, 64) (`report-data-mismatch`) →
 * init-data digest == personalization value, raw (`init-data-mismatch`). Reference values are
 * appraised but never fail verification, as upstream. Remote (Veraison) mode is not implemented.
 *
 * Where the stores come from, first match wins: `trustAnchors`/`refValues` options; the
 * `collateralDir` option (`tastore.json`, optional `rvstore.json`); the upstream config file
 * named by `configFile`, `$CCA_CONFIG_FILE` or {@linkcode DEFAULT_CCA_CONFIG}.
 *
 * @module
 */
import { bytesEqual, regularize } from "@coco/lib/bytes";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { ccaClaims } from "./claims.ts";
import { parseCcaEvidence } from "./evidence.ts";
import {
  CcaStoreError,
  parseCcaConfig,
  parseRefValueStore,
  parseTrustAnchorStore,
  type RefValueStore,
  type TrustAnchor,
} from "./stores.ts";
import { verifyCcaToken } from "./verify.ts";

export { appraiseCca, type CcaAppraisal } from "./appraise.ts";
export { ccaClaims } from "./claims.ts";
export { ccaEvidence, MAX_CCA_TOKEN_BYTES, parseCcaEvidence } from "./evidence.ts";
export * from "./stores.ts";
export { type CcaToken, decodeCcaToken } from "./token.ts";
export {
  type CcaVerified,
  type CcaVerifyParams,
  RAK_UNVERIFIED,
  verifyCcaToken,
} from "./verify.ts";

/** Upstream's default location of the CCA verifier config. */
export const DEFAULT_CCA_CONFIG =
  "/opt/confidential-containers/attestation-service/cca/config.json";
/** Environment variable naming the CCA verifier config (as upstream). */
export const CCA_CONFIG_ENV = "CCA_CONFIG_FILE";

/** Options of the `cca` verifier: the shared ones plus where its stores are. */
export interface CcaVerifierOptions extends VerifierOptions {
  /** Trust anchors (CPAKs) to use instead of reading a store file. */
  trustAnchors?: readonly TrustAnchor[];
  /** Reference values to appraise against (only with `trustAnchors`). */
  refValues?: RefValueStore;
  /** Upstream-format config file (`{"cca-verifier": {...}}`); overrides `$CCA_CONFIG_FILE`. */
  configFile?: string;
}

interface Stores {
  trustAnchors: readonly TrustAnchor[];
  refValues?: RefValueStore;
}

async function readStoreFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new VerifierError(
      "collateral-unavailable",
      `cannot read the CCA ${what} ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function envConfig(): string | undefined {
  try {
    return Deno.env.get(CCA_CONFIG_ENV);
  } catch {
    return undefined;
  }
}

async function loadStores(o: CcaVerifierOptions): Promise<Stores> {
  if (o.trustAnchors) {
    return o.refValues ? { trustAnchors: o.trustAnchors, refValues: o.refValues } : {
      trustAnchors: o.trustAnchors,
    };
  }
  let ta: string;
  let rv: string | undefined;
  if (o.collateralDir !== undefined) {
    ta = `${o.collateralDir}/tastore.json`;
    rv = `${o.collateralDir}/rvstore.json`;
    try {
      await Deno.stat(rv);
    } catch {
      rv = undefined;
    }
  } else {
    const file = o.configFile ?? envConfig() ?? DEFAULT_CCA_CONFIG;
    const config = parseCcaConfig(await readStoreFile(file, "verifier config"), file);
    if (config.type === "remote") {
      throw new VerifierError(
        "unsupported-tee",
        `${file} selects the remote (Veraison) CCA verifier, which this build does not implement`,
      );
    }
    ta = config.taStore;
    rv = config.rvStore;
  }
  const trustAnchors = parseTrustAnchorStore(await readStoreFile(ta, "trust-anchor store"), ta);
  if (rv === undefined) return { trustAnchors };
  return {
    trustAnchors,
    refValues: parseRefValueStore(await readStoreFile(rv, "reference-value store"), rv),
  };
}

/** Verifier for Arm CCA tokens (local mode). */
export class CcaVerifier implements Verifier {
  readonly tee = "cca" as const;
  readonly #options: CcaVerifierOptions;

  constructor(options: CcaVerifierOptions = {}) {
    this.#options = options;
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    try {
      return [{ claims: await this.#evaluate(input), teeClass: "cpu" }];
    } catch (err) {
      if (err instanceof CcaStoreError) {
        throw new VerifierError(
          "collateral-unavailable",
          `Cannot verify CCA evidence: ${err.message}`,
          {
            cause: err,
          },
        );
      }
      if (!(err instanceof VerifierError)) throw err;
      throw new VerifierError(err.code, `Cannot verify CCA evidence: ${err.message}`, {
        cause: err,
      });
    }
  }

  async #evaluate(input: VerifyInput) {
    const token = parseCcaEvidence(input.evidence);
    if (input.reportData === undefined) {
      throw new VerifierError(
        "report-data-mismatch",
        "CCA verifier must provide report data field (the realm challenge is bound to it)",
      );
    }
    const stores = await loadStores(this.#options);
    const { token: verified } = await verifyCcaToken(token, {
      ...stores,
      expectedChallenge: regularize(input.reportData, 64),
    });
    const perso = verified.realmClaims.personalization;
    if (input.initDataHash && !bytesEqual(input.initDataHash, perso)) {
      throw new VerifierError(
        "init-data-mismatch",
        `init data hash is different from that in CCA token (expected ${input.initDataHash.toHex()}, personalization value ${perso.toHex()})`,
      );
    }
    return ccaClaims(verified);
  }
}
