/**
 * KBS load generator, run as its own process by `bench/kbs.ts` so that client work (evidence,
 * JWE decryption) never competes with the trustee inside one isolate. Each worker loops full
 * flows (auth + attest + resource with the session cookie, sample TEE), sending successive calls
 * to successive replicas (a round-robin load balancer). Each worker is one simulated guest with
 * one TEE key pair for all of its flows, as upstream's `kbs_protocol` client keeps one key per
 * client instance (and our attestation agent one per process); the server still does all of its
 * per-flow work (new session, evidence check, token, ephemeral-key JWE).
 *
 * Usage: `deno run -A bench/kbs_load.ts <url,url…> <concurrency> <duration ms> <resource path>`
 * Prints one JSON line: `{"flows","errors","secs","p50_ms","p99_ms","cpu_ms","firstError"}`
 * (`cpu_ms`: this process's CPU time, user + system, during the run).
 */
import { generateTeeKeyPair, type TeeKeyPair } from "@coco/lib/jose";
import { runFlow } from "../trustee/kbs/cluster_testing.ts";
import { percentile } from "./_lib.ts";

const [urlArg = "", concArg = "1", durArg = "5000", path = "bench/key/1"] = Deno.args;
const urls = urlArg.split(",").filter(Boolean);
const concurrency = Number(concArg);
const durationMs = Number(durArg);

const keys: TeeKeyPair[] = await Promise.all(
  Array.from({ length: concurrency }, () => generateTeeKeyPair()),
);
const cpuMs = () => {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // USER_HZ = 100 on Linux
};
const lat: number[] = [];
let errors = 0;
let firstError: string | undefined;
let n = 0;
const cpu0 = cpuMs();
const start = performance.now();
const end = start + durationMs;
await Promise.all(keys.map(async (key) => {
  while (performance.now() < end) {
    const i = n++;
    const at = (k: number) => urls[(i + k) % urls.length]!;
    const t = performance.now();
    try {
      // Round robin within the flow too: with two replicas, attest lands on the other one.
      await runFlow({ auth: at(0), attest: at(1), resource: at(2) }, path, key);
      lat.push(performance.now() - t);
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  }
}));
const secs = (performance.now() - start) / 1000;
const cpu = cpuMs() - cpu0;
console.log(JSON.stringify({
  flows: lat.length,
  errors,
  secs,
  p50_ms: percentile(lat, 50),
  p99_ms: percentile(lat, 99),
  cpu_ms: cpu,
  ...(firstError ? { firstError } : {}),
}));
