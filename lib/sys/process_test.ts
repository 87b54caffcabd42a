/**
 * Tests for lib/sys process calls: a grandchild orphaned by its shell is re-parented to this
 * process (a subreaper) and waited for by pid; signals give 128 + signal.
 */
import assert from "node:assert/strict";
import {
  becomeSubreaper,
  exitCodeOf,
  killPid,
  loadSys,
  reapOrphans,
  SysError,
  waitingPids,
  waitPid,
} from "./mod.ts";

loadSys();

/**
 * Writes a line into a FIFO without blocking on open: O_RDWR never waits for a reader, so a
 * reader that failed to start makes the test fail on its own assertions instead of hanging.
 * The returned file must stay open until the reader has read (closing the last writer before
 * the reader opens the FIFO would discard the line); close it after the orphan has exited.
 */
async function release(fifo: string): Promise<Deno.FsFile> {
  const f = await Deno.open(fifo, { read: true, write: true });
  await f.write(new TextEncoder().encode("go\n"));
  return f;
}

/** Starts `script` in the background of a shell that exits at once; returns the orphan's pid. */
async function orphan(script: string): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `${script} >/dev/null 2>&1 </dev/null & echo $!`],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test("exitCodeOf() maps exit statuses and signal deaths (128 + signal)", () => {
  assert.equal(exitCodeOf(3 << 8), 3);
  assert.equal(exitCodeOf(9), 137);
  assert.equal(exitCodeOf(15), 143);
});

Deno.test("waitPid() collects an orphan re-parented to the subreaper; killPid() signals it", async () => {
  becomeSubreaper();
  // The orphan must outlive its shell (a shell reaps background jobs that end first): it waits
  // for a line on a FIFO that is written only after the shell has exited.
  const dir = await Deno.makeTempDir();
  await new Deno.Command("mkfifo", { args: [`${dir}/go`] }).output();
  const quick = await orphan(`sh -c 'read x < ${dir}/go; exit 7'`);
  const waitingQuick = waitPid(quick);
  using _go = await release(`${dir}/go`);
  assert.equal(await waitingQuick, 7);
  await Deno.remove(dir, { recursive: true });
  const slow = await orphan("sleep 1000");
  const waiting = waitPid(slow);
  assert.ok(waitingPids.has(slow));
  killPid(slow, 15);
  assert.equal(await waiting, 143);
  assert.equal(waitingPids.has(slow), false);
  killPid(slow, 15); // gone: ESRCH is ignored
});

Deno.test("waitPid() of a pid that is not a child throws SysError ECHILD", async () => {
  await assert.rejects(waitPid(1), (err: unknown) => {
    assert.ok(err instanceof SysError);
    assert.equal(err.call, "waitpid");
    assert.equal(err.errno, 10);
    return true;
  });
});

Deno.test("reapOrphans() reaps a zombie orphan it does not own and leaves owned ones", async () => {
  becomeSubreaper();
  const dir = await Deno.makeTempDir();
  await new Deno.Command("mkfifo", { args: [`${dir}/go`] }).output();
  // Exits only once its shell is gone (so it is our child), when the FIFO is written.
  const pid = await orphan(`sh -c 'read x < ${dir}/go'`);
  using _go = await release(`${dir}/go`);
  // Between the write and becoming a zombie the orphan may need a moment more (bounded: 10 s).
  let seen = false;
  const deadline = Date.now() + 10_000;
  while (!seen && Date.now() < deadline) {
    assert.deepEqual(reapOrphans((p) => (p === pid ? (seen = true) : true)), []);
    if (!seen) await new Promise((r) => setTimeout(r, 1));
  }
  await Deno.remove(dir, { recursive: true });
  assert.ok(seen, "the orphan never showed up as a zombie");
  assert.deepEqual(reapOrphans((p) => p !== pid), [pid]);
});
