/**
 * GetMetrics: Prometheus text with the agent's own memory (from `/proc/self/status`) and the
 * guest's memory (`/proc/meminfo`), named like upstream's agent metrics
 * (`kata_agent_process_resident_memory_bytes`, `kata_guest_meminfo{item=…}`).
 */

/** Values in kB of `Key:   N kB` lines. */
export function parseKbLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = line.match(/^(\w+):\s+(\d+)(?: kB)?$/);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const MEMINFO = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Shmem"];

/** Builds the metrics text from the two /proc files' contents. */
export function metricsText(status: string, meminfo: string): string {
  const self = parseKbLines(status);
  const mem = parseKbLines(meminfo);
  const lines = [
    "# HELP kata_agent_process_resident_memory_bytes Resident memory of the agent process.",
    "# TYPE kata_agent_process_resident_memory_bytes gauge",
    `kata_agent_process_resident_memory_bytes ${(self.get("VmRSS") ?? 0) * 1024}`,
    "# HELP kata_agent_process_resident_memory_max_bytes Peak resident memory of the agent.",
    "# TYPE kata_agent_process_resident_memory_max_bytes gauge",
    `kata_agent_process_resident_memory_max_bytes ${(self.get("VmHWM") ?? 0) * 1024}`,
    "# HELP kata_guest_meminfo Guest memory from /proc/meminfo, in bytes.",
    "# TYPE kata_guest_meminfo gauge",
  ];
  for (const k of MEMINFO) {
    const v = mem.get(k);
    if (v !== undefined) lines.push(`kata_guest_meminfo{item="${k}"} ${v * 1024}`);
  }
  return lines.join("\n") + "\n";
}

/** Reads /proc and returns the metrics text. */
export async function readMetrics(): Promise<string> {
  const [status, meminfo] = await Promise.all([
    Deno.readTextFile("/proc/self/status").catch(() => ""),
    Deno.readTextFile("/proc/meminfo").catch(() => ""),
  ]);
  return metricsText(status, meminfo);
}
