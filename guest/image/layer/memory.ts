/**
 * Keeping a pull's peak memory flat with default V8 settings. Every chunk of a layer (fetched
 * body, decrypted batch, decompressed output) is a fresh ArrayBuffer that dies as soon as it is
 * written, but its bytes live outside the V8 heap: the young generation fills with small
 * handles while tens of MB of dead backing stores wait for the next scavenge (V8 only reacts to
 * external memory once it grew by about 64 MB). Measured on the bench images that is 40–60 MB of
 * peak RSS (see README "Memory").
 *
 * {@linkcode garbageBudget} asks V8 for a GC after every `everyBytes` of layer data, which frees
 * those backing stores early. `gc` is obtained once through `node:v8`
 * `setFlagsFromString("--expose-gc")` + `node:vm` (the flag applies to new contexts), the Node
 * pattern, which Deno supports. Measured in Deno 2.9.6 the `{type: "minor"}` request costs as much
 * as a full GC (30–100 ms with the guest's modules loaded), hence the coarse default of 32 MiB
 * (about 5% of pull time for ~10 collections per 300 MiB). When `DENO_V8_FLAGS` already bounds
 * the young generation (`--max-semi-space-size`), which keeps RSS lower at no time cost, the
 * budget is off. When `gc` is unavailable the budget is a no-op.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

/** Default: one collection per 32 MiB of decompressed layer data (see README for the figures). */
export const DEFAULT_GC_EVERY_BYTES = 32 << 20;

type GcFunction = (options?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

let cached: GcFunction | null | undefined;

/** The V8 `gc()` function, or `null` when this runtime does not expose it. */
export function v8Gc(): GcFunction | null {
  if (cached === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const fn: unknown = vm.runInNewContext("gc");
      cached = typeof fn === "function" ? fn as GcFunction : null;
    } catch {
      cached = null;
    }
  }
  return cached;
}

/** True when the process was started with `DENO_V8_FLAGS=…--max-semi-space-size=…`. */
function semiSpaceBounded(): boolean {
  try {
    return /--max[-_]semi[-_]space[-_]size/.test(Deno.env.get("DENO_V8_FLAGS") ?? "");
  } catch {
    return false; // no env permission: assume default flags
  }
}

/**
 * A byte counter shared by every layer of a pull: call it with each chunk's size; it runs a minor
 * GC each time `everyBytes` more bytes went through. `everyBytes` 0 disables it.
 */
export function garbageBudget(
  everyBytes: number = DEFAULT_GC_EVERY_BYTES,
  gc: GcFunction | null = everyBytes > 0 && !semiSpaceBounded() ? v8Gc() : null,
): (bytes: number) => void {
  if (!gc || everyBytes <= 0) return () => {};
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since >= everyBytes) {
      since = 0;
      gc({ type: "minor" });
    }
  };
}
