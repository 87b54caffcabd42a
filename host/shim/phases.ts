/**
 * Pod start time broken down: one info line `pod start phase` per phase, with the phase name and
 * its duration in ms (`performance.now()` deltas), logged by the serving shim, the pod and the
 * backend in this order:
 *
 * | phase             | from → to                                                         |
 * | ----------------- | ----------------------------------------------------------------- |
 * | `shim-start`      | the `start` action's process start → ttrpc serving                 |
 * | `vm-boot`         | QEMU (or local agent) spawn → agent channel answers Health/Check   |
 * | `agent-ready`     | channel answering → (guest network,) SetPolicy, CreateSandbox done |
 * | `image-pull`      | agent CreateContainer as a whole (the guest pull happens inside)   |
 * | `container-start` | agent StartContainer                                               |
 *
 * The agent's CreateContainer answer is Empty, so the in-guest pull time alone is not available
 * to the shim: `image-pull` is the whole CreateContainer call (`measured = "CreateContainer"`).
 * `image-pull` and `container-start` repeat for each container of the pod (field `container`).
 */
import type { LogFields, Logger } from "@coco/lib/log";

/** The phases, in the order a pod start goes through them. */
export const POD_START_PHASES = [
  "shim-start",
  "vm-boot",
  "agent-ready",
  "image-pull",
  "container-start",
] as const;

/** One pod start phase. */
export type PodStartPhase = typeof POD_START_PHASES[number];

/** The message of every phase line (the phase is in the `phase` field). */
export const PHASE_MESSAGE = "pod start phase";

/**
 * Environment variable the `start` action sets for the serving shim it spawns: the epoch time
 * (ms, fractional) at which the `start` process began, so `shim-start` covers both processes.
 */
export const SHIM_T0_ENV = "COCO_SHIM_T0";

/** Logs one phase line at info level. */
export function logPhase(
  log: Logger,
  phase: PodStartPhase,
  ms: number,
  fields: LogFields = {},
): void {
  log.info(PHASE_MESSAGE, { phase, ms: Math.round(ms * 10) / 10, ...fields });
}

/** Epoch ms (fractional) at which this process started. */
export function processStartEpochMs(): number {
  return performance.timeOrigin;
}

/**
 * Milliseconds from the `start` action's process start (`COCO_SHIM_T0`) to now, or from this
 * process's start when the variable is absent or not a plausible time.
 */
export function shimStartMs(env: (name: string) => string | undefined): number {
  const own = performance.now();
  const t0 = Number(env(SHIM_T0_ENV));
  if (!Number.isFinite(t0) || t0 <= 0 || t0 > performance.timeOrigin) return own;
  return performance.timeOrigin + own - t0;
}

/** A phase line read back from a shim log (text or JSON format). */
export interface PhaseRecord {
  phase: PodStartPhase;
  ms: number;
  /** The shim's id (`shim=` field), i.e. the sandbox / task id. */
  shim?: string;
}

function isPhase(v: unknown): v is PodStartPhase {
  return typeof v === "string" && (POD_START_PHASES as readonly string[]).includes(v);
}

/**
 * Finds a phase line in one log line (containerd copies the shim's log into its own stderr, so
 * the record may sit inside a longer line); undefined when the line carries none.
 */
export function parsePhaseLine(line: string): PhaseRecord | undefined {
  const at = line.indexOf(PHASE_MESSAGE);
  if (at < 0) return undefined;
  const brace = line.lastIndexOf("{", at);
  if (brace >= 0) {
    try {
      const rec: unknown = JSON.parse(line.slice(brace));
      if (rec && typeof rec === "object") {
        const r = rec as Record<string, unknown>;
        if (isPhase(r.phase) && typeof r.ms === "number") {
          return {
            phase: r.phase,
            ms: r.ms,
            ...(typeof r.shim === "string" ? { shim: r.shim } : {}),
          };
        }
      }
    } catch { /* not JSON: the text format below */ }
  }
  const rest = line.slice(at + PHASE_MESSAGE.length);
  const field = (k: string) =>
    rest.match(new RegExp(`(?:^|\\s)${k}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`))?.[1];
  const phase = field("phase");
  const ms = Number(field("ms"));
  if (!isPhase(phase) || !Number.isFinite(ms)) return undefined;
  const shim = field("shim");
  return { phase, ms, ...(shim !== undefined ? { shim: shim.replace(/^"|"$/g, "") } : {}) };
}
