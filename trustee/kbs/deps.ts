import type { Logger } from "@coco/lib/log";
import type { AdminAuthorizer } from "../admin/mod.ts";
import type { AttestationService } from "../attestation_service/service.ts";
import type { Rvps } from "../rvps/mod.ts";
import type { KvStore } from "../storage/mod.ts";
import type { KbsConfig } from "./config.ts";
import type { KbsMetrics } from "./metrics.ts";
import type { ResourcePolicy } from "./resource_policy.ts";
import type { SessionStore } from "./session.ts";
import type { TokenVerifier } from "./token_verifier.ts";

/** Mutable serving state shared by the app and the server. */
export interface ServeState {
  /**
   * Set once shutdown begins: `/healthz` answers 503 so load balancers stop routing here, and new
   * protocol requests get 503 `ShuttingDown` (retry elsewhere) while in-flight ones finish.
   */
  draining: boolean;
  /** Requests being handled now. */
  inflight: number;
  /** Called whenever `inflight` drops to 0. */
  onIdle?: () => void;
}

/** Everything the KBS routes need, wired once by `createKbs`. */
export interface KbsDeps {
  config: KbsConfig;
  sessions: SessionStore;
  resources: KvStore;
  as: AttestationService;
  rvps: Rvps;
  tokens: TokenVerifier;
  admin: AdminAuthorizer;
  resourcePolicy: ResourcePolicy;
  logger: Logger;
  metrics: KbsMetrics;
  state: ServeState;
  now: () => number;
  /**
   * Makes policy and reference-value writes that finished on any replica visible to the caller
   * (a version check on shared storage; nothing to do on local storage). Called by every request
   * that reads them, before reading.
   */
  syncCaches?: () => Promise<void>;
  /**
   * Session reads sync the caches as a side effect (same shared store, one round trip). Then
   * `/attest` and resource reads skip the separate sync when they read a session first.
   */
  sessionReadsSync?: boolean;
}
