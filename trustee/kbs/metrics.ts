/**
 * Prometheus metrics of the KBS in text exposition format 0.0.4, with upstream's metric names
 * (spec/trustee.md §9) plus `trustee_http_request_duration_seconds`, a latency histogram per
 * route, method and status. No client library: counters, gauges and histograms are a few maps.
 *
 * @module
 */

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escape(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Series key: label names sorted, then `name=value` joined by control characters. */
const keyOf = (labels: Labels) => {
  const names = Object.keys(labels);
  if (names.length === 0) return ""; // the common unlabelled series: no allocation
  if (names.length > 1) names.sort();
  let k = "";
  for (const n of names) k += `${n}\u0001${labels[n]}\u0002`;
  return k;
};

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(lines: string[]): void;
}

/** A counter (or gauge) with optional labels. */
export class Counter implements Family {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" = "counter",
  ) {}

  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    const k = keyOf(labels);
    const cur = this.#values.get(k);
    if (cur) cur.value += by;
    else this.#values.set(k, { labels, value: by });
  }

  /** Current value of one series (0 when never touched). */
  get(labels: Labels = {}): number {
    return this.#values.get(keyOf(labels))?.value ?? 0;
  }

  render(lines: string[]): void {
    if (this.#values.size === 0 && this.type === "gauge") lines.push(`${this.name} 0`);
    for (const { labels, value } of this.#values.values()) {
      lines.push(`${this.name}${labelText(labels)} ${value}`);
    }
  }
}

/** A histogram with fixed upper bounds (seconds or bytes). */
export class Histogram implements Family {
  readonly type = "histogram";
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number }>();

  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}

  /** Records one observation. */
  observe(value: number, labels: Labels = {}): void {
    const k = keyOf(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels, counts: new Array(this.buckets.length + 1).fill(0), sum: 0 };
      this.#series.set(k, s);
    }
    let i = this.buckets.findIndex((b) => value <= b);
    if (i < 0) i = this.buckets.length;
    s.counts[i]!++;
    s.sum += value;
  }

  render(lines: string[]): void {
    for (const { labels, counts, sum } of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += counts[i]!;
        lines.push(`${this.name}_bucket${labelText(labels, ["le", String(b)])} ${cumulative}`);
      });
      cumulative += counts[this.buckets.length]!;
      lines.push(`${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${cumulative}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${sum}`);
      lines.push(`${this.name}_count${labelText(labels)} ${cumulative}`);
    }
  }
}

const SIZE_BUCKETS = [32, 128, 512, 2048, 8192];
const UPSTREAM_LATENCY = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.5, 1];
const FINE_LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Every metric the KBS exports. */
export class KbsMetrics {
  readonly buildInfo = new Counter("kbs_build_info", "Build information", "gauge");
  readonly httpRequests = new Counter("kbs_http_requests_total", "HTTP requests");
  readonly httpDuration = new Histogram(
    "kbs_http_request_duration_seconds",
    "HTTP request latency",
    UPSTREAM_LATENCY,
  );
  readonly requestSize = new Histogram(
    "kbs_http_request_size_bytes",
    "HTTP request body sizes",
    SIZE_BUCKETS,
  );
  readonly responseSize = new Histogram(
    "kbs_http_response_size_bytes",
    "HTTP response body sizes",
    SIZE_BUCKETS,
  );
  readonly activeConnections = new Counter(
    "kbs_http_active_connections",
    "Requests being served",
    "gauge",
  );
  readonly resourceReads = new Counter("kbs_resource_reads_total", "Resource reads");
  readonly resourceWrites = new Counter("kbs_resource_writes_total", "Resource writes");
  readonly resourceDeletes = new Counter("kbs_resource_deletes_total", "Resource deletes");
  readonly policyEvaluations = new Counter("kbs_policy_evaluations_total", "Policy evaluations");
  readonly policyApprovals = new Counter("kbs_policy_approvals_total", "Policy approvals");
  readonly policyViolations = new Counter("kbs_policy_violations_total", "Policy denials");
  readonly policyErrors = new Counter("kbs_policy_errors_total", "Policy evaluation errors");
  readonly attestationRequests = new Counter("kbs_attestation_requests_total", "/attest calls");
  readonly attestationErrors = new Counter("kbs_attestation_errors_total", "/attest errors");
  readonly attestationSuccesses = new Counter(
    "kbs_attestation_successes_total",
    "Successful attestations",
  );
  readonly attestationFailures = new Counter(
    "kbs_attestation_failures_total",
    "Refused attestations",
  );
  readonly authRequests = new Counter("kbs_auth_requests_total", "/auth calls");
  readonly authSuccesses = new Counter("kbs_auth_successes_total", "Successful /auth calls");
  readonly authErrors = new Counter("kbs_auth_errors_total", "Failed /auth calls");
  readonly routeDuration = new Histogram(
    "trustee_http_request_duration_seconds",
    "HTTP request latency by route, method and status",
    FINE_LATENCY,
  );
  readonly sessions = new Counter(
    "trustee_sessions",
    "RCAR sessions held by this replica",
    "gauge",
  );
  readonly sessionsEvicted = new Counter(
    "trustee_sessions_evicted_total",
    "Sessions evicted by max_sessions",
  );
  readonly rejected = new Counter(
    "trustee_requests_rejected_total",
    "Requests refused by a limit",
  );

  constructor(version = "0.1.0") {
    this.buildInfo.inc({ version, git_hash: "unknown", build_date: "unknown" });
  }

  /** The exposition text served on `/metrics`. */
  render(): string {
    const lines: string[] = [];
    for (const value of Object.values(this)) {
      if (!(value instanceof Counter) && !(value instanceof Histogram)) continue;
      const family = value as Family;
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      family.render(lines);
    }
    return lines.join("\n") + "\n";
  }
}
