import assert from "node:assert/strict";
import { metricsText, readMetrics } from "./metrics.ts";

Deno.test("metricsText() reports agent RSS and guest memory in bytes", () => {
  const text = metricsText(
    "Name:\tdeno\nVmHWM:\t  120000 kB\nVmRSS:\t  100000 kB\n",
    "MemTotal:        1000 kB\nMemAvailable:     400 kB\n",
  );
  assert.match(text, /^kata_agent_process_resident_memory_bytes 102400000$/m);
  assert.match(text, /^kata_agent_process_resident_memory_max_bytes 122880000$/m);
  assert.match(text, /^kata_guest_meminfo\{item="MemTotal"\} 1024000$/m);
  assert.match(text, /^kata_guest_meminfo\{item="MemAvailable"\} 409600$/m);
});

Deno.test("readMetrics() reads this process's memory", async () => {
  const m = (await readMetrics()).match(/^kata_agent_process_resident_memory_bytes (\d+)$/m);
  assert.ok(Number(m?.[1]) > 1 << 20);
});
