/**
 * The `attestation_agent.AttestationAgentService` ttrpc binding of {@linkcode AttestationAgent}.
 * AA errors are mapped to ttrpc statuses here and only here. BindInitData is served (upstream's
 * ttrpc AA leaves it unimplemented): a digest that does not match the hardware is
 * FAILED_PRECONDITION.
 */
import { aa } from "@coco/lib/proto";
import { Code, TtrpcError, type TtrpcServer } from "@coco/lib/ttrpc";
import {
  AaError,
  type AaErrorCode,
  type AttestationAgent,
  REFRESH_TOKEN_METADATA,
} from "./agent.ts";

const STATUS: Record<AaErrorCode, number> = {
  "unknown-token-type": Code.INVALID_ARGUMENT,
  "bad-request": Code.INVALID_ARGUMENT,
  "not-configured": Code.FAILED_PRECONDITION,
  "upstream": Code.INTERNAL,
  "init-data-mismatch": Code.FAILED_PRECONDITION,
};

async function mapped<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AaError) throw new TtrpcError(STATUS[err.code], err.message, { cause: err });
    throw err;
  }
}

/** Registers the AA service of `agent` on `server`. */
export function registerAttestationAgent(
  server: TtrpcServer,
  agent: AttestationAgent,
): TtrpcServer {
  return server.registerService(aa.AttestationAgentService, {
    getEvidence: (req) =>
      mapped(async () => ({ Evidence: await agent.getEvidence(req.RuntimeData) })),
    getAdditionalEvidence: (req) =>
      mapped(async () => ({ Evidence: await agent.getAdditionalEvidence(req.RuntimeData) })),
    getToken: (req, ctx) =>
      mapped(async () => ({
        Token: await agent.getToken(req.TokenType, {
          refresh: ctx.metadata.get(REFRESH_TOKEN_METADATA)?.includes("true") ?? false,
        }),
      })),
    extendRuntimeMeasurement: (req) =>
      mapped(async () => ({
        Result: aa.RuntimeMeasurementResult[
          await agent.extendRuntimeMeasurement(
            req.Domain,
            req.Operation,
            req.Content,
            req.RegisterIndex === undefined ? undefined : Number(req.RegisterIndex),
          )
        ],
      })),
    // Upstream's ttrpc AA leaves BindInitData unimplemented; ours binds (superset, quirk #1).
    bindInitData: (req) =>
      mapped(async () => {
        await agent.checkInitData(req.Digest);
        return {};
      }),
    getTeeType: () => ({ tee: agent.tee }),
    getAdditionalTees: () => ({ additionalTees: [...agent.additionalTees] }),
  });
}
