import assert from "node:assert/strict";
import { join } from "node:path";
import { parsePauseConfig } from "../../guest/agent/storage/pause_bundle.ts";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../tests/peers.ts";
import { buildPauseBundle, isStaticElf, PAUSE_CONFIG, pauseConfigJson } from "./pause_bundle.ts";

const gcc = findPeers("gcc");

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "pause-bundle-build-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Waits until `pid` catches SIGINT, SIGTERM and SIGCHLD (`SigCgt` in /proc/<pid>/status). No
 * event says when a freshly spawned pause has installed its handlers, so this looks again every
 * 10 ms for at most 5 s; it returns false if they never appear.
 */
async function handlersInstalled(pid: number): Promise<boolean> {
  const want = (1n << 1n) | (1n << 14n) | (1n << 16n);
  for (let i = 0; i < 500; i++) {
    const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
    const m = status.match(/^SigCgt:\s*([0-9a-f]+)$/m);
    if (m && (BigInt(`0x${m[1]}`) & want) === want) return true;
    await new Promise((res) => setTimeout(res, 10));
  }
  return false;
}

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("pauseConfigJson() is the kata-shaped process the agent accepts", () => {
  const text = pauseConfigJson();
  assert.deepEqual(JSON.parse(text), PAUSE_CONFIG);
  const process = parsePauseConfig(text, "/pause_bundle");
  assert.deepEqual(process.args, ["/pause"]);
  assert.equal(process.cwd, "/");
  assert.equal(process.terminal, false);
  assert.deepEqual(process.user, { uid: 0, gid: 0 });
  assert.equal(process.capabilities, undefined, "pause runs without capabilities");
});

Deno.test("isStaticElf() tells static from dynamic ELF files and rejects other input", async () => {
  const env = await Deno.readFile(await Deno.realPath("/usr/bin/env"));
  assert.equal(isStaticElf(env), false, "Debian's env is dynamically linked");
  assert.throws(() => isStaticElf(new TextEncoder().encode("#!/bin/sh\n")), /not a 64-bit/);
  const truncated = env.slice(0, 64);
  new DataView(truncated.buffer).setBigUint64(0x20, 1n << 40n, true);
  assert.throws(() => isStaticElf(truncated), /outside the file/);
});

Deno.test("buildPauseBundle() reports a missing compiler and writes nothing", async () => {
  await withRoot(async (root) => {
    const r = await buildPauseBundle(root, { cc: join(root, "no-such-cc") });
    assert.equal(r.built, false);
    assert.match(r.built ? "" : r.reason, /no-such-cc not found/);
    assert.deepEqual(await listing(root), []);
  });
});

Deno.test("buildPauseBundle() reports a compiler that cannot link statically", async () => {
  await withRoot(async (root) => {
    const cc = join(root, "cc");
    await Deno.writeTextFile(cc, "#!/bin/sh\necho 'ld: cannot find -lc' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const r = await buildPauseBundle(root, { cc });
    assert.equal(r.built, false);
    assert.match(r.built ? "" : r.reason, /-static failed \(static libc missing\?\): .*-lc/);
    assert.deepEqual(await listing(root), ["cc"]);
  });
});

Deno.test({
  name: "buildPauseBundle() compiles a static pause that exits 0 on SIGTERM/SIGINT only",
  ...skipUnless(gcc, "pause bundle build"),
  fn: async () => {
    await withRoot(async (root) => {
      const r = await buildPauseBundle(root);
      assert.equal(r.built, true, r.built ? "" : r.reason);
      assert.deepEqual(await listing(join(root, "pause_bundle")), ["config.json", "rootfs"]);
      assert.equal(
        await Deno.readTextFile(join(root, "pause_bundle/config.json")),
        pauseConfigJson(),
      );
      const bin = join(root, "pause_bundle/rootfs/pause");
      assert.equal(isStaticElf(await Deno.readFile(bin)), true);
      assert.equal((await Deno.stat(bin)).mode! & 0o7777, 0o755);
      for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
        const child = new Deno.Command(bin, { stdin: "null", stdout: "null", stderr: "null" })
          .spawn();
        assert.ok(await handlersInstalled(child.pid), "pause handles INT, TERM and CHLD");
        // If pause had not blocked, it would be gone and kill() would throw.
        child.kill(sig);
        const st = await child.status;
        if (sig === "SIGHUP") assert.equal(st.signal, "SIGHUP", "no handler: default action");
        else assert.deepEqual([st.code, st.signal], [0, null], `${sig} exits 0`);
      }
    });
  },
});

const nsPeers = requireAlso(
  findPeers("gcc", "unshare", "nsenter"),
  isRoot(),
  "needs root for a PID namespace",
);

async function childrenOf(pid: number): Promise<string> {
  return (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`)).trim();
}

Deno.test({
  name: "pause as PID 1 of a PID namespace reaps orphans re-parented to it",
  ...skipUnless(nsPeers, "pause reaping"),
  fn: async () => {
    await withRoot(async (root) => {
      const r = await buildPauseBundle(root);
      assert.equal(r.built, true);
      const bin = join(root, "pause_bundle/rootfs/pause");
      const ns = new Deno.Command("unshare", {
        args: ["--pid", "--fork", "--kill-child", bin],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        // unshare's only child is pause (PID 1 inside); wait for the fork to show up.
        let pause = "";
        for (let i = 0; i < 500 && !pause; i++) {
          pause = await childrenOf(ns.pid);
          if (!pause) await new Promise((res) => setTimeout(res, 10));
        }
        const pid = Number(pause);
        assert.ok(pid > 0, "pause started in its namespace");
        assert.ok(await handlersInstalled(pid), "pause handles SIGCHLD");
        // sh exits at once; its background child becomes an orphan of pause, then exits.
        const orphan = await new Deno.Command("nsenter", {
          args: ["-t", String(pid), "-p", "--", "/bin/sh", "-c", "/bin/sh -c 'exit 3' & exit 0"],
          stdin: "null",
        }).output();
        assert.equal(orphan.code, 0);
        // No event tells us when the orphan has exited: look until pause has no child left
        // (a zombie would stay listed forever if pause did not reap it).
        let left = await childrenOf(pid);
        for (let i = 0; i < 500 && left !== ""; i++) {
          await new Promise((res) => setTimeout(res, 10));
          left = await childrenOf(pid);
        }
        assert.equal(left, "", "the orphan was reaped");
      } finally {
        // unshare --fork ignores SIGTERM itself; stopping pause (PID 1 inside) ends both.
        const pid = Number(await childrenOf(ns.pid).catch(() => ""));
        if (pid > 0) Deno.kill(pid, "SIGTERM");
        else ns.kill("SIGKILL");
        await ns.status;
      }
    });
  },
});
