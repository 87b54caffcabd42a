import assert from "node:assert/strict";
import { join } from "node:path";
import { ShimError } from "./errors.ts";
import type { AgentSpec } from "./oci_spec.ts";
import { type CopyFileInit, SHARE_CHUNK, shareHostMounts } from "./shared_files.ts";

const BASE = "/run/kata-containers";
const NAME = /^\/run\/kata-containers\/shared\/containers\/c1-[0-9a-f]{16}-/;

async function withHostDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "shared-files-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function recorder() {
  const sent: CopyFileInit[] = [];
  return { sent, send: (r: CopyFileInit) => Promise.resolve(void sent.push(r)) };
}

Deno.test("host bind mounts are copied in with CopyFile and their sources rewritten", async () => {
  await withHostDir(async (dir) => {
    const hosts = join(dir, "hosts");
    await Deno.writeTextFile(hosts, "127.0.0.1 localhost\n");
    await Deno.chmod(hosts, 0o644);
    const big = join(dir, "big");
    await Deno.writeFile(big, new Uint8Array(SHARE_CHUNK * 2 + 5).fill(7));
    const cfg = join(dir, "configmap");
    await Deno.mkdir(join(cfg, "..data"), { recursive: true });
    await Deno.writeTextFile(join(cfg, "..data", "key"), "value");
    await Deno.symlink("..data/key", join(cfg, "key"));
    const spec: AgentSpec = {
      Mounts: [
        { destination: "/proc", source: "proc", type: "proc", options: [] },
        { destination: "/etc/hosts", source: hosts, type: "bind", options: ["rbind", "ro"] },
        { destination: "/data/big", source: big, type: "", options: ["bind"] },
        { destination: "/etc/config", source: cfg, type: "bind", options: ["rbind"] },
        { destination: "/dev/shm", source: "/run/containerd/x/shm", type: "bind", options: [] },
        { destination: "/sys/fs/x", source: "/sys/fs/x", type: "bind", options: ["rbind"] },
      ],
    };
    const { sent, send } = recorder();
    await shareHostMounts(spec, "c1", BASE, send);
    const m = spec.Mounts!;
    assert.deepEqual(m[0], { destination: "/proc", source: "proc", type: "proc", options: [] });
    assert.match(m[1]!.source!, new RegExp(NAME.source + "hosts$"));
    assert.deepEqual(m[1]!.options, ["rbind", "ro"]);
    assert.equal(m[2]!.type, "bind");
    assert.deepEqual(m[2]!.options, ["bind"]);
    assert.equal(m[4]!.type, "tmpfs");
    assert.equal(m[4]!.source, "shm");
    assert.equal(m[5]!.source, "/sys/fs/x");

    const hostsReq = sent.filter((r) => r.path === m[1]!.source);
    assert.equal(hostsReq.length, 1);
    assert.equal(new TextDecoder().decode(hostsReq[0]!.data), "127.0.0.1 localhost\n");
    assert.equal(hostsReq[0]!.fileMode, 0o100644);
    assert.equal(hostsReq[0]!.uid, Deno.uid());

    const bigReq = sent.filter((r) => r.path === m[2]!.source);
    assert.deepEqual(bigReq.map((r) => r.offset), [
      0n,
      BigInt(SHARE_CHUNK),
      BigInt(SHARE_CHUNK * 2),
    ]);
    assert.deepEqual(bigReq.map((r) => r.data!.length), [SHARE_CHUNK, SHARE_CHUNK, 5]);
    assert.ok(bigReq.every((r) => r.fileSize === BigInt(SHARE_CHUNK * 2 + 5)));

    const root = m[3]!.source!;
    const tree = sent.filter((r) => r.path!.startsWith(root)).map((r) => [
      r.path!.slice(root.length),
      (r.fileMode! & 0o170000).toString(8),
    ]);
    // Parents before children; the directory's own entries sorted.
    assert.deepEqual(tree, [
      ["", "40000"],
      ["/..data", "40000"],
      ["/..data/key", "100000"],
      ["/key", "120000"],
    ]);
    const link = sent.find((r) => r.path === `${root}/key`)!;
    assert.equal(new TextDecoder().decode(link.data), "..data/key");
  });
});

Deno.test("mounts that cannot be copied are refused naming the mount", async () => {
  await withHostDir(async (dir) => {
    await Deno.symlink("/etc/passwd", join(dir, "abs"));
    const cases: [string, RegExp][] = [
      [join(dir, "abs"), /symlink to the absolute path \/etc\/passwd/],
      [join(dir, "missing"), /host source .* is unreadable/],
      ["/dev/null", /neither a file, a directory nor a symlink/],
    ];
    for (const [source, re] of cases) {
      const spec: AgentSpec = {
        Mounts: [{ destination: "/x", source, type: "bind", options: ["rbind"] }],
      };
      const { sent, send } = recorder();
      await assert.rejects(shareHostMounts(spec, "c1", BASE, send), (err: unknown) => {
        assert.ok(err instanceof ShimError);
        assert.equal(err.code, "bad-request");
        assert.match(err.message, /Container c1 mount \/x/);
        assert.match(err.message, re);
        return true;
      });
      assert.equal(sent.length, 0);
    }
  });
});

Deno.test("a source already in the guest's tree is left alone", async () => {
  const spec: AgentSpec = {
    Mounts: [{
      destination: "/v",
      source: `${BASE}/sandbox/storage/v`,
      type: "bind",
      options: ["rbind"],
    }],
  };
  const { sent, send } = recorder();
  await shareHostMounts(spec, "c1", BASE, send);
  assert.equal(spec.Mounts![0]!.source, `${BASE}/sandbox/storage/v`);
  assert.equal(sent.length, 0);
});
