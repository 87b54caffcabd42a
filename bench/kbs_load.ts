/**
 * KBS load generator, run as its own process by `bench/kbs.ts` so that client work (evidence,
 * JWE decryption) never competes with the trustee inside one isolate. Each worker loops full
 * flows (auth + attest + resource with the session cookie, sample TEE), sending successive calls
 * to successive replicas (a round-robin load balancer). TEE keys come from a small pre-generated pool so key generation does
 * not dominate the client's CPU; the server still does all of its per-flow work.
 *
 * Usage: `deno run -A bench/kbs_load.ts <url,url…> <concurrency> <duration ms> <resource path>`
 * Prints one JSON line: `{"flows","errors","secs","p50_ms","p99_ms","firstError"}`.
 */
import { generateTeeKeyPair, type TeeKeyPair } from "@coco/lib/jose";
import { runFlow } from "../trustee/kbs/cluster_testing.ts";
import { percentile } from "./_lib.ts";

const [urlArg = "", concArg = "1", durArg = "5000", path = "bench/key/1"] = Deno.args;
const urls = urlArg.split(",").filter(Boolean);
const concurrency = Number(concArg);
const durationMs = Number(durArg);

const keys: TeeKeyPair[] = await Promise.all(
  Array.from({ length: 16 }, () => generateTeeKeyPair()),
);
const lat: number[] = [];
let errors = 0;
let firstError: string | undefined;
let n = 0;
const start = performance.now();
const end = start + durationMs;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (performance.now() < end) {
    const i = n++;
    const at = (k: number) => urls[(i + k) % urls.length]!;
    const t = performance.now();
    try {
      // Round robin within the flow too: with two replicas, attest lands on the other one.
      await runFlow({ auth: at(0), attest: at(1), resource: at(2) }, path, keys[i % keys.length]);
      lat.push(performance.now() - t);
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  }
}));
const secs = (performance.now() - start) / 1000;
console.log(JSON.stringify({
  flows: lat.length,
  errors,
  secs,
  p50_ms: percentile(lat, 50),
  p99_ms: percentile(lat, 99),
  ...(firstError ? { firstError } : {}),
}));
