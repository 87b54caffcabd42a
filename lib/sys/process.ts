/**
 * Process calls Deno has no API for: becoming a child subreaper (`prctl`), waiting for one
 * specific pid (`waitpid`, run on a blocking-pool thread so the event loop never blocks),
 * reaping orphan zombies without blocking (found in `/proc`) and sending numeric signals.
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
 * re-parented to it. Zombies are found in `/proc/<pid>/stat` (state `Z`, parent = this process)
 * rather than with `waitid(P_ALL, …, WNOWAIT)`, which only ever shows one zombie: an owned one
 * that is not collected yet would hide every orphan behind it. A zombie for which
 * `owned(pid)` is true (a container process, a child Deno spawned) is left to its waiter.
 * Returns the pids reaped.
 */
export function reapOrphans(owned: (pid: number) => boolean): number[] {
  const self = Deno.pid;
  const status = new Int32Array(1);
  const reaped: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" || Number(fields[1]) !== self) continue;
    const pid = Number(entry.name);
    if (owned(pid)) continue;
    if (lib().waitpid(pid, status, WNOHANG) === pid) reaped.push(pid);
  }
  return reaped;
}
