import type { Logger } from "@coco/lib/log";
import type { AdminAuthorizer } from "../admin/mod.ts";
import type { AttestationService } from "../attestation_service/service.ts";
import type { Rvps } from "../rvps/mod.ts";
import type { KvStore } from "../storage/mod.ts";
import type { KbsConfig } from "./config.ts";
import type { ResourcePolicy } from "./resource_policy.ts";
import type { SessionStore } from "./session.ts";
import type { TokenVerifier } from "./token_verifier.ts";

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
  now: () => number;
}
