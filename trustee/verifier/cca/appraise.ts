/**
 * Appraisal of a verified CCA token against the reference-value store, as Trustee's local verifier
 * does through rust-ccatoken (spec/evidence.md §9 step 6). The outcome mirrors the AR4SI trust
 * vector it sets; it never fails verification (upstream drops it from the claims).
 *
 * @module
 */
import { bytesEqual } from "@coco/lib/bytes";
import type { PlatformRefValue, RealmRefValue, RefValueStore } from "./stores.ts";
import type { PlatformClaims, RealmClaims } from "./token.ts";

/** Platform outcome: matched a reference state, unknown implementation, or unknown state. */
export type PlatformAppraisal = "affirming" | "unrecognized-instance" | "unrecognized-hardware";
/** Realm outcome (the AR4SI `executables` claim); `no-claim` when the platform was not affirmed. */
export type RealmAppraisal =
  | "approved-boot"
  | "approved-runtime"
  | "contraindicated-runtime"
  | "unrecognized-boot"
  | "no-claim";

/** Appraisal of both halves of a CCA token. */
export interface CcaAppraisal {
  platform: PlatformAppraisal;
  realm: RealmAppraisal;
}

function platformMatches(rv: PlatformRefValue, claims: PlatformClaims): boolean {
  if (!bytesEqual(rv.config, claims.config)) return false;
  if (rv.swComponents.length !== claims.swComponents.length) return false;
  return rv.swComponents.every((want, i) => {
    const got = claims.swComponents[i]!;
    return bytesEqual(want.measurement, got.measurement) &&
      bytesEqual(want.signerId, got.signerId) &&
      (want.type === undefined || want.type === got.type) &&
      (want.version === undefined || want.version === got.version);
  });
}

function realmMatch(rv: RealmRefValue, claims: RealmClaims): RealmAppraisal | undefined {
  if (rv.personalization && !bytesEqual(rv.personalization, claims.personalization)) {
    return undefined;
  }
  if (rv.rems.length === 0) return "approved-boot";
  const same = rv.rems.length === claims.rems.length &&
    rv.rems.every((r, i) => bytesEqual(r, claims.rems[i]!));
  return same ? "approved-runtime" : undefined;
}

/** Appraises platform firmware/config by implementation id, then the realm by RIM and REMs. */
export function appraiseCca(
  store: RefValueStore,
  platform: PlatformClaims,
  realm: RealmClaims,
): CcaAppraisal {
  const prvs = store.platform.filter((rv) =>
    bytesEqual(rv.implementationId, platform.implementationId)
  );
  if (prvs.length === 0) return { platform: "unrecognized-instance", realm: "no-claim" };
  if (!prvs.some((rv) => platformMatches(rv, platform))) {
    return { platform: "unrecognized-hardware", realm: "no-claim" };
  }
  const rrvs = store.realm.filter((rv) => bytesEqual(rv.rim, realm.rim));
  if (rrvs.length === 0) return { platform: "affirming", realm: "unrecognized-boot" };
  for (const rv of rrvs) {
    const m = realmMatch(rv, realm);
    if (m) return { platform: "affirming", realm: m };
  }
  return { platform: "affirming", realm: "contraindicated-runtime" };
}
