/**
 * Process calls Deno has no API for: becoming a child subreaper (`prctl`), waiting for one
 * specific pid (`waitpid`, run on a blocking-pool thread so the event loop never blocks),
 * reaping orphan zombies without blocking (`waitid` + `WNOWAIT`) and sending numeric signals.
 *
 * Only specific pids are ever waited for, so the exit status of processes Deno spawned itself
 * (which Deno reaps through its own child handles) is never stolen.
 *
 * @module
 */
import { check, fail, lib } from "./_ffi.ts";
import { ERRNO } from "./errors.ts";

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const P_ALL = 0;

/** Marks this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER, 1)`). */
export function becomeSubreaper(): void {
  check(lib().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n), "prctl", "PR_SET_CHILD_SUBREAPER");
}

/**
 * Exit code of a wait status as the kata agent API reports it: the exit status, or 128 + the
 * signal number for a process killed by a signal.
 */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  if (sig === 0) return (status >> 8) & 0xff;
  return 128 + sig;
}

/** Pids a {@link waitPid} call is waiting for (the orphan reaper leaves them alone). */
export const waitingPids: ReadonlySet<number> = new Set<number>();

/**
 * Waits for child `pid` to exit and resolves with its exit code ({@link exitCodeOf}). The
 * blocking `waitpid` runs on another thread, whose errno this thread cannot read: after a
 * failure the state is re-checked here with `WNOHANG` (EINTR leaves the child running → wait
 * again; a real error such as ECHILD is thrown as a {@link SysError}).
 */
export async function waitPid(pid: number): Promise<number> {
  const status = new Int32Array(1);
  const waiting = waitingPids as Set<number>;
  waiting.add(pid);
  try {
    for (;;) {
      if (await lib().waitpid_thread(pid, status, 0) === pid) return exitCodeOf(status[0]!);
      const now = lib().waitpid(pid, status, WNOHANG);
      if (now === pid) return exitCodeOf(status[0]!);
      if (now < 0) throw fail("waitpid", String(pid));
    }
  } finally {
    waiting.delete(pid);
  }
}

/** Sends signal number `sig` to `pid`; ESRCH (already gone) is ignored, as the kata agent does. */
export function killPid(pid: number, sig: number): void {
  if (lib().kill(pid, sig) === 0) return;
  const err = fail("kill", String(pid));
  if (err.errno !== ERRNO.ESRCH) throw err;
}

/**
 * Reaps zombie children without blocking — for PID 1, where every orphan of the guest is
 * re-parented to it. Each zombie is first peeked with `waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT)`;
 * when `owned(pid)` says someone else waits for it (a container process, a child Deno spawned)
 * the sweep stops and leaves it to its waiter. Returns the pids reaped.
 */
export function reapOrphans(owned: (pid: number) => boolean): number[] {
  const info = new Uint8Array(128);
  const view = new DataView(info.buffer);
  const status = new Int32Array(1);
  const reaped: number[] = [];
  for (;;) {
    info.fill(0);
    const r = lib().waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT);
    const pid = view.getInt32(16, true); // siginfo_t.si_pid on 64-bit Linux
    if (r !== 0 || pid === 0 || owned(pid)) return reaped;
    if (lib().waitpid(pid, status, WNOHANG) !== pid) return reaped;
    reaped.push(pid);
  }
}
