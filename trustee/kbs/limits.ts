/**
 * Operational limits of one KBS replica: the `[limits]` table (our extension; upstream has only
 * `http_server.payload_request_size`). Every limit has a default, so the table is optional.
 *
 * ```toml
 * [limits]
 * max_sessions = 50000             # sessions this replica keeps; the oldest are evicted beyond it
 * max_pending_sessions_per_client = 1000  # /auth without /attest yet, per client address → 429
 * verification_timeout_ms = 10000  # evidence verification + appraisal of one /attest → 503
 * policy_timeout_ms = 2000         # one Rego evaluation (resource or appraisal policy)
 * shutdown_grace_ms = 10000        # SIGTERM: time in-flight requests get to finish
 * trust_forwarded_for = false      # take the client address from X-Forwarded-For
 * policy_cache_ms = 1000           # local storage: policies and reference values are re-read at
 *                                  # most this often; shared Postgres/Redis: caches are checked
 *                                  # against change versions on every request instead (no delay);
 *                                  # 0 = no cache, always re-read
 * ```
 *
 * @module
 */
import { bool, num, obj, onlyKeys } from "@coco/lib/json/fields";

/** The resolved `[limits]` table. */
export interface LimitsConfig {
  max_sessions: number;
  max_pending_sessions_per_client: number;
  verification_timeout_ms: number;
  policy_timeout_ms: number;
  shutdown_grace_ms: number;
  trust_forwarded_for: boolean;
  policy_cache_ms: number;
}

/** Defaults of every limit. */
export const DEFAULT_LIMITS: Readonly<LimitsConfig> = {
  max_sessions: 50_000,
  max_pending_sessions_per_client: 1000,
  verification_timeout_ms: 10_000,
  policy_timeout_ms: 2_000,
  shutdown_grace_ms: 10_000,
  trust_forwarded_for: false,
  policy_cache_ms: 1000,
};

const INTEGER_KEYS = [
  "max_sessions",
  "max_pending_sessions_per_client",
  "verification_timeout_ms",
  "policy_timeout_ms",
  "shutdown_grace_ms",
] as const;

/**
 * Parses `[limits]` (`undefined` when absent); throws a `TypeError` naming the key.
 */
export function parseLimits(raw: unknown): LimitsConfig {
  const out: LimitsConfig = { ...DEFAULT_LIMITS };
  if (raw === undefined) return out;
  const t = obj(raw, "[limits]");
  onlyKeys(t, [...INTEGER_KEYS, "trust_forwarded_for", "policy_cache_ms"], "limits");
  for (const key of INTEGER_KEYS) {
    if (t[key] === undefined) continue;
    const v = num(typeof t[key] === "bigint" ? Number(t[key]) : t[key], `limits.${key}`);
    if (!Number.isInteger(v) || v < 1) {
      throw new TypeError(`limits.${key} must be a positive integer`);
    }
    out[key] = v;
  }
  if (t.policy_cache_ms !== undefined) {
    const v = num(t.policy_cache_ms, "limits.policy_cache_ms");
    if (!Number.isInteger(v) || v < 0) {
      throw new TypeError("limits.policy_cache_ms must be a non-negative integer");
    }
    out.policy_cache_ms = v;
  }
  if (t.trust_forwarded_for !== undefined) {
    out.trust_forwarded_for = bool(t.trust_forwarded_for, "limits.trust_forwarded_for");
  }
  return out;
}
