/**
 * The few libc calls the agent needs that Deno has no API for, through FFI: becoming a child
 * subreaper (so container processes started by `runc create`/`runc exec -d` are re-parented to
 * the agent when runc exits), waiting for such a process, and sending numeric signals.
 *
 * `waitpid` runs as a nonblocking FFI call: on a blocking-pool thread, so the event loop never
 * blocks. It only ever waits for a specific pid, never `-1`, so it cannot steal the exit status
 * of processes Deno spawned itself (Deno reaps those through its own child handles).
 */

const PR_SET_CHILD_SUBREAPER = 36;

const symbols = {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32", nonblocking: true },
  waitpid_now: { name: "waitpid", parameters: ["i32", "buffer", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  waitid: { parameters: ["i32", "i32", "buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let lib: Deno.DynamicLibrary<typeof symbols> | undefined;

function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  lib ??= Deno.dlopen("libc.so.6", symbols);
  return lib.symbols;
}

function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** Marks this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER, 1)`). */
export function becomeSubreaper(): void {
  if (libc().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) {
    throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${errno()}`);
  }
}

/**
 * Exit code of a wait status as the agent API reports it: the exit status, or 128 + signal
 * number for a process killed by a signal.
 */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff;
  return 128 + sig;
}

/** Pids a {@linkcode waitPid} call is waiting for (the orphan reaper leaves them alone). */
export const waitingPids: ReadonlySet<number> = new Set<number>();

/** Waits for child `pid` to exit; resolves with its exit code (see {@linkcode exitCodeOf}). */
export async function waitPid(pid: number): Promise<number> {
  const status = new Int32Array(1);
  const waiting = waitingPids as Set<number>;
  waiting.add(pid);
  try {
    for (;;) {
      const r = await libc().waitpid(pid, status, 0);
      if (r === pid) return exitCodeOf(status[0]!);
      const e = errno();
      if (r === -1 && e === 4) continue; // EINTR
      throw new Error(`waitpid(${pid}) failed: errno ${e}`);
    }
  } finally {
    waiting.delete(pid);
  }
}

/** Sends signal number `sig` to `pid`; ESRCH (already gone) is ignored, as upstream. */
export function killPid(pid: number, sig: number): void {
  if (libc().kill(pid, sig) === 0) return;
  const e = errno();
  if (e === 3) return;
  throw new Error(`kill(${pid}, ${sig}) failed: errno ${e}`);
}

/**
 * Reaps zombie orphans without blocking — used only when the agent is PID 1, where orphans of
 * the whole guest are re-parented to it. Each zombie is first peeked with
 * `waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT)`; when `owned(pid)` says someone else waits for it
 * (a container process, a process Deno spawned) the sweep stops and leaves it to its waiter.
 * Returns the pids reaped.
 */
export function reapOrphans(owned: (pid: number) => boolean): number[] {
  const info = new Uint8Array(128);
  const view = new DataView(info.buffer);
  const status = new Int32Array(1);
  const reaped: number[] = [];
  for (;;) {
    info.fill(0);
    const r = libc().waitid(0, /* P_ALL */ 0, info, 4 | 1 | 0x01000000);
    const pid = view.getInt32(16, true); // siginfo_t.si_pid on 64-bit Linux
    if (r !== 0 || pid === 0 || owned(pid)) return reaped;
    if (libc().waitpid_now(pid, status, 1 /* WNOHANG */) !== pid) return reaped;
    reaped.push(pid);
  }
}
