/**
 * What the REST server needs from the AA and the CDH, and the ttrpc-backed implementations.
 */
import { aa, cdh } from "@coco/lib/proto";
import { createClient, type TtrpcClient } from "@coco/lib/ttrpc";
import type { LazyTtrpcClient } from "../_rpc/lazy_client.ts";

/** The AA calls the REST API makes. */
export interface AaApi {
  getToken(tokenType: string): Promise<Uint8Array>;
  getEvidence(runtimeData: Uint8Array): Promise<Uint8Array>;
  getAdditionalEvidence(runtimeData: Uint8Array): Promise<Uint8Array>;
  extendRuntimeMeasurement(
    domain: string,
    operation: string,
    content: string,
  ): Promise<"OK" | "NOT_SUPPORTED" | "NOT_ENABLED">;
  getTeeType(): Promise<string>;
  getAdditionalTees(): Promise<string[]>;
}

/** The CDH calls the REST API makes. */
export interface CdhApi {
  getResource(uri: string): Promise<Uint8Array>;
}

const TIMEOUT = { timeoutMs: 50_000 };

/** {@linkcode AaApi} over ttrpc. */
export function ttrpcAaApi(client: LazyTtrpcClient): AaApi {
  const call = <T>(
    f: (s: ReturnType<typeof aaClient>) => Promise<T>,
  ): Promise<T> => client.call((c) => f(aaClient(c)));
  return {
    getToken: async (t) => (await call((s) => s.getToken({ TokenType: t }, TIMEOUT))).Token,
    getEvidence: async (rd) =>
      (await call((s) => s.getEvidence({ RuntimeData: rd }, TIMEOUT))).Evidence,
    getAdditionalEvidence: async (rd) =>
      (await call((s) => s.getAdditionalEvidence({ RuntimeData: rd }, TIMEOUT))).Evidence,
    extendRuntimeMeasurement: async (Domain, Operation, Content) => {
      const r = await call((s) =>
        s.extendRuntimeMeasurement({ Domain, Operation, Content }, TIMEOUT)
      );
      return r.Result === aa.RuntimeMeasurementResult.OK
        ? "OK"
        : r.Result === aa.RuntimeMeasurementResult.NOT_ENABLED
        ? "NOT_ENABLED"
        : "NOT_SUPPORTED";
    },
    getTeeType: async () => (await call((s) => s.getTeeType({}, TIMEOUT))).tee,
    getAdditionalTees: async () =>
      (await call((s) => s.getAdditionalTees({}, TIMEOUT))).additionalTees,
  };
}

function aaClient(c: TtrpcClient) {
  return createClient(c, aa.AttestationAgentService);
}

/** {@linkcode CdhApi} over ttrpc. */
export function ttrpcCdhApi(client: LazyTtrpcClient): CdhApi {
  return {
    getResource: async (uri) =>
      (await client.call((c) =>
        createClient(c, cdh.GetResourceService).getResource({ ResourcePath: uri }, TIMEOUT)
      )).Resource,
  };
}
