import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { nullLogger } from "@coco/lib/log";
import { shimTask } from "@coco/lib/proto";
import { podRole, socketAddress, writeAtomic } from "./address.ts";
import { parseShimConfig } from "./config.ts";
import { ShimError } from "./errors.ts";
import { parseShimArgs } from "./flags.ts";
import { deleteShim, startShim } from "./launch.ts";

const isShimError = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof ShimError && e.code === code && re.test(e.message);

Deno.test("parseShimArgs() reads containerd's Go-style flags and the action word", () => {
  const f = parseShimArgs([
    "-namespace",
    "k8s.io",
    "-address",
    "/run/containerd/containerd.sock",
    "-publish-binary",
    "/usr/bin/containerd",
    "-id",
    "abc",
    "-debug",
    "start",
  ]);
  assert.deepEqual(f, {
    namespace: "k8s.io",
    address: "/run/containerd/containerd.sock",
    publishBinary: "/usr/bin/containerd",
    id: "abc",
    bundle: "",
    debug: true,
    action: "start",
  });
  const d = parseShimArgs(["--namespace=ns", "-id=x", "-bundle", "/b", "delete"]);
  assert.equal(d.action, "delete");
  assert.equal(d.bundle, "/b");
  assert.equal(parseShimArgs(["-namespace", "ns", "-id", "x"]).action, "serve");
  assert.equal(parseShimArgs(["-v"]).action, "version");
});

Deno.test("parseShimArgs() refuses hostile or broken command lines", () => {
  const cases: [string[], RegExp][] = [
    [["-namespace", "ns", "-id", "x", "-bogus", "1"], /Unknown flag -bogus/],
    [["-namespace", "ns", "-id"], /-id needs a value/],
    [["-namespace", "ns", "-id", "../../etc"], /not a valid task id/],
    [["-id", "x", "start"], /-namespace is required/],
    [["-namespace", "ns", "-id", "x", "run"], /Unknown action "run"/],
    [["-namespace", "ns", "-id", "x", "start", "extra"], /Unexpected arguments/],
    [["-namespace", "ns", "-id", "x", "-debug=maybe"], /Invalid value "maybe"/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseShimArgs(args), isShimError("bad-flags", re), args.join(" "));
  }
});

Deno.test("socketAddress() is sha256 of the cleaned <address>/<ns>/<id> under the socket dir", () => {
  const want = createHash("sha256").update("/run/containerd/containerd.sock/default/t1").digest(
    "hex",
  );
  assert.equal(
    socketAddress("/run/containerd/containerd.sock", "default", "t1"),
    `unix:///run/containerd/s/${want}`,
  );
  // Go's filepath.Join cleans doubled and trailing slashes.
  assert.equal(
    socketAddress("/run/containerd//containerd.sock/", "default", "t1"),
    `unix:///run/containerd/s/${want}`,
  );
  assert.notEqual(socketAddress("/a", "ns", "t1"), socketAddress("/a", "ns", "t2"));
  assert.throws(
    () => socketAddress("/a", "ns", "t1", "/" + "x".repeat(60)),
    isShimError("bad-config", /longer than 106 bytes/),
  );
});

Deno.test("podRole() groups pod containers under their sandbox (CRI and CRI-O annotations)", () => {
  assert.deepEqual(podRole("c1", {}), { kind: "single", sandboxId: "c1" });
  assert.deepEqual(podRole("p1", { "io.kubernetes.cri.container-type": "sandbox" }), {
    kind: "sandbox",
    sandboxId: "p1",
  });
  assert.deepEqual(
    podRole("c2", {
      "io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.sandbox-id": "p1",
    }),
    { kind: "container", sandboxId: "p1" },
  );
  assert.deepEqual(
    podRole("c3", {
      "io.kubernetes.cri-o.ContainerType": "container",
      "io.kubernetes.cri-o.SandboxID": "p9",
    }),
    { kind: "container", sandboxId: "p9" },
  );
  assert.throws(
    () => podRole("c4", { "io.kubernetes.cri.container-type": "container" }),
    isShimError("bad-bundle", /no io.kubernetes.cri.sandbox-id/),
  );
  assert.throws(
    () => podRole("c5", { "io.kubernetes.cri.container-type": "vm" }),
    isShimError("bad-bundle", /Unknown io.kubernetes.cri.container-type "vm"/),
  );
});

Deno.test("writeAtomic() replaces the file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeAtomic(dir, "address", "unix:///old");
    await writeAtomic(dir, "address", "unix:///new");
    assert.equal(await Deno.readTextFile(join(dir, "address")), "unix:///new");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["address"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function inBundle(annotations: Record<string, string>, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ annotations }));
    Deno.chdir(dir);
    await fn(dir);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("startShim() for a pod container returns the sandbox's address and starts nothing", async () => {
  const config = { ...parseShimConfig({}), socketDir: "/tmp/coco-shim-test" };
  await inBundle({
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.sandbox-id": "pod1",
  }, async (dir) => {
    const flags = parseShimArgs([
      "-namespace",
      "k8s.io",
      "-address",
      "/c.sock",
      "-id",
      "c1",
      "start",
    ]);
    // A command that would fail if it were run proves nothing is spawned.
    const addr = await startShim(flags, config, ["/nonexistent/shim"]);
    assert.equal(addr, socketAddress("/c.sock", "k8s.io", "pod1", "/tmp/coco-shim-test"));
    assert.equal(await Deno.readTextFile(join(dir, "address")), addr);
    assert.equal(await Deno.stat(join(dir, "shim.pid")).catch(() => null), null);
  });
});

Deno.test("startShim() spawns the serving process, waits for ready, writes address and shim.pid", async () => {
  const sockDir = await Deno.makeTempDir();
  const config = { ...parseShimConfig({}), socketDir: sockDir };
  try {
    await inBundle({}, async (dir) => {
      const flags = parseShimArgs([
        "-namespace",
        "ns",
        "-address",
        "/c.sock",
        "-id",
        "s1",
        "start",
      ]);
      // A stand-in server: prints ready, then exits (detached, like the real one).
      const script = join(dir, "fake.sh");
      await Deno.writeTextFile(script, "#!/bin/sh\necho ready\n", { mode: 0o755 });
      const addr = await startShim(flags, config, [script]);
      assert.equal(addr, socketAddress("/c.sock", "ns", "s1", sockDir));
      assert.equal(await Deno.readTextFile(join(dir, "address")), addr);
      assert.match(await Deno.readTextFile(join(dir, "shim.pid")), /^\d+$/);
    });
    await inBundle({}, async () => {
      const flags = parseShimArgs([
        "-namespace",
        "ns",
        "-address",
        "/c.sock",
        "-id",
        "s2",
        "start",
      ]);
      await assert.rejects(
        startShim(flags, config, ["/bin/false"]),
        isShimError("start-failed", /did not start/),
      );
    });
  } finally {
    await Deno.remove(sockDir, { recursive: true });
  }
});

Deno.test("deleteShim() kills only the recorded backend of this task and answers exit 137", async () => {
  const root = await Deno.makeTempDir();
  const config = {
    ...parseShimConfig({}),
    runtimeDir: join(root, "run"),
    socketDir: join(root, "s"),
  };
  const runDir = join(config.runtimeDir, "d1");
  await Deno.mkdir(runDir, { recursive: true });
  await Deno.writeTextFile(join(runDir, "leftover"), "x");
  // A stand-in backend whose command line names the run dir, as QEMU's and the agent's do.
  const backend = new Deno.Command("sh", {
    args: ["-c", "sleep 1000; true", runDir],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await Deno.writeTextFile(join(runDir, "backend.pid"), String(backend.pid));
  // The bundle's shim.pid names a process that is not this task's shim: it must survive.
  await Deno.writeTextFile(join(root, "shim.pid"), String(Deno.pid));
  try {
    const flags = parseShimArgs([
      "-namespace",
      "ns",
      "-address",
      "/c.sock",
      "-id",
      "d1",
      "-bundle",
      root,
      "delete",
    ]);
    const out = fromBinary(
      shimTask.DeleteResponseSchema,
      await deleteShim(flags, config, nullLogger),
    );
    assert.equal(out.exitStatus, 137);
    assert.ok(out.exitedAt && out.exitedAt.seconds > 0n);
    assert.equal((await backend.status).signal, "SIGKILL");
    assert.equal(await Deno.stat(runDir).catch(() => null), null);
  } finally {
    try {
      backend.kill("SIGKILL");
    } catch { /* already gone */ }
    await backend.status;
    await Deno.remove(root, { recursive: true });
  }
});
