import assert from "node:assert/strict";
import { parseImageConfig } from "@coco/lib/oci";
import { loadSys, lsetxattr, mknod, umount } from "@coco/lib/sys";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../../tests/peers.ts";
import { ImageError } from "../errors.ts";
import { createBundle, mergeLayers, readLayered, resolveUser, runtimeSpec } from "./mod.ts";

loadSys();

const PASSWD =
  "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nbad line\nnobody:x:65534:65534::/:/bin/false\n";
const GROUP = "root:x:0:\napp:x:1001:\nwheel:x:10:app,root\naudio:x:29:app\n";

function config(
  run: Record<string, unknown> = { Cmd: ["sh"] },
  extra: Record<string, unknown> = {},
) {
  return parseImageConfig({
    architecture: "amd64",
    os: "linux",
    config: run,
    rootfs: { type: "layers", diff_ids: [] },
    ...extra,
  });
}

Deno.test("resolveUser() resolves names and ids like containerd", () => {
  const cases: [string | undefined, unknown][] = [
    [undefined, { uid: 0, gid: 0, additionalGids: [10] }],
    ["app", { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ["1000", { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ["4242", { uid: 4242, gid: 0 }],
    ["app:wheel", { uid: 1000, gid: 10 }],
    ["app:77", { uid: 1000, gid: 77 }],
    ["5:6", { uid: 5, gid: 6 }],
  ];
  for (const [user, want] of cases) {
    assert.deepEqual(resolveUser(user, PASSWD, GROUP), want, user || "(empty user)");
  }
  assert.deepEqual(resolveUser("", undefined, undefined), { uid: 0, gid: 0 });
  for (
    const [user, re] of [["ghost", /"ghost" is not in the image's \/etc\/passwd/], [
      "app:ghosts",
      /group "ghosts"/,
    ], ["99999999999", /not in the image/]] as const
  ) {
    assert.throws(
      () => resolveUser(user, PASSWD, GROUP),
      (e) => e instanceof ImageError && e.code === "bundle_failed" && re.test(e.message),
    );
  }
});

Deno.test("runtimeSpec() maps the image config onto containerd's default spec", () => {
  const spec = runtimeSpec(
    config({
      Entrypoint: ["/bin/app"],
      Cmd: ["--serve"],
      Env: ["A=1"],
      WorkingDir: "/srv",
      Volumes: { "/data": {} },
      Labels: { "org.opencontainers.image.os": "custom", team: "x" },
      StopSignal: "SIGINT",
    }),
    { uid: 1, gid: 2 },
  );
  assert.deepEqual(spec.process.args, ["/bin/app", "--serve"]);
  assert.deepEqual(spec.process.env, [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "A=1",
  ]);
  assert.equal(spec.process.cwd, "/srv");
  assert.deepEqual(spec.process.user, { uid: 1, gid: 2 });
  assert.equal(spec.root.path, "rootfs");
  assert.ok(spec.mounts.some((m) => m.destination === "/proc" && m.type === "proc"));
  assert.deepEqual(spec.mounts.at(-1), {
    destination: "/data",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "noexec", "nodev", "relatime", "rw"],
  });
  assert.equal(spec.annotations["org.opencontainers.image.os"], "custom", "labels win");
  assert.equal(spec.annotations["org.opencontainers.image.stopSignal"], "SIGINT");
  assert.equal(spec.annotations.team, "x");
  assert.deepEqual(spec.linux.namespaces.map((n) => n.type), [
    "pid",
    "ipc",
    "uts",
    "mount",
    "network",
  ]);
  assert.equal(
    runtimeSpec(config({ Cmd: ["x"], Env: ["PATH=/bin"] }), { uid: 0, gid: 0 }).process.env[0],
    "PATH=/bin",
  );
  assert.throws(() => runtimeSpec(config({}), { uid: 0, gid: 0 }), /neither Entrypoint nor Cmd/);
  assert.throws(
    () => runtimeSpec(config({ Cmd: ["x"], WorkingDir: "rel" }), { uid: 0, gid: 0 }),
    /not an absolute path/,
  );
  assert.throws(
    () => runtimeSpec(config({ Cmd: ["x"] }, { os: "windows" }), { uid: 0, gid: 0 }),
    /only linux/,
  );
});

async function tempLayers(n: number): Promise<[string, string[]]> {
  const root = await Deno.makeTempDir({ prefix: "bundle-test-" });
  const layers = [];
  for (let i = 0; i < n; i++) {
    await Deno.mkdir(`${root}/l${i}`);
    layers.push(`${root}/l${i}`);
  }
  return [root, layers];
}

const ROOT = requireAlso(findPeers(), isRoot(), "needs root (mknod, trusted xattrs, mount)");
const rootOnly = (name: string) => ({ name, ...skipUnless(ROOT, name) });

Deno.test({
  ...rootOnly("readLayered() honours whiteouts and opaque dirs and never follows symlinks"),
  fn: async () => {
    const [root, [l0, l1, l2]] = await tempLayers(3);
    try {
      await Deno.mkdir(`${l0}/etc`);
      await Deno.writeTextFile(`${l0}/etc/passwd`, "low");
      await Deno.writeTextFile(`${l0}/etc/group`, "low-group");
      assert.equal(await readLayered([l1!, l0!], "etc/passwd"), "low");
      await Deno.mkdir(`${l1}/etc`);
      mknod(`${l1}/etc/passwd`, "char", { mode: 0, major: 0, minor: 0 });
      assert.equal(await readLayered([l1!, l0!], "etc/passwd"), undefined, "whited out");
      assert.equal(await readLayered([l1!, l0!], "etc/group"), "low-group");
      lsetxattr(`${l1}/etc`, "trusted.overlay.opaque", "y");
      assert.equal(
        await readLayered([l1!, l0!], "etc/group"),
        undefined,
        "hidden by the opaque dir",
      );
      await Deno.symlink("/etc", `${l2}/etc`);
      assert.equal(
        await readLayered([l2!, l1!, l0!], "etc/passwd"),
        undefined,
        "symlinked /etc is not followed",
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  ...rootOnly("mergeLayers() applies overlay semantics and replaces symlinked dirs"),
  fn: async () => {
    const [root, [l0, l1, out]] = await tempLayers(3);
    const outside = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${l0}/gone`);
      await Deno.writeTextFile(`${l0}/gone/f`, "x");
      await Deno.mkdir(`${l0}/opq`);
      await Deno.writeTextFile(`${l0}/opq/old`, "old");
      await Deno.writeTextFile(`${l0}/keep`, "keep");
      await Deno.symlink(outside, `${l0}/sneaky`);
      await Deno.writeTextFile(`${l0}/hl1`, "linked");
      await Deno.link(`${l0}/hl1`, `${l0}/hl2`);
      mknod(`${l1}/gone`, "char", { mode: 0, major: 0, minor: 0 });
      await Deno.mkdir(`${l1}/opq`);
      lsetxattr(`${l1}/opq`, "trusted.overlay.opaque", "y");
      await Deno.writeTextFile(`${l1}/opq/new`, "new");
      await Deno.mkdir(`${l1}/sneaky`);
      await Deno.writeTextFile(`${l1}/sneaky/payload`, "p");
      await Deno.writeTextFile(`${l1}/setuid`, "s");
      await Deno.chmod(`${l1}/setuid`, 0o4755);
      await mergeLayers([l0!, l1!], out!);
      const names = [];
      for await (const e of Deno.readDir(out!)) names.push(e.name);
      assert.deepEqual(names.sort(), ["hl1", "hl2", "keep", "opq", "setuid", "sneaky"]);
      assert.deepEqual([...Deno.readDirSync(`${out}/opq`)].map((e) => e.name), ["new"]);
      assert.ok((await Deno.lstat(`${out}/sneaky`)).isDirectory);
      assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing written through the symlink");
      assert.equal((await Deno.stat(`${out}/hl1`)).ino, (await Deno.stat(`${out}/hl2`)).ino);
      assert.equal((await Deno.stat(`${out}/setuid`)).mode! & 0o7777, 0o4755);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    }
  },
});

for (const mode of ["overlay", "copy"] as const) {
  Deno.test({
    ...rootOnly(`createBundle() builds a ${mode} rootfs and config.json with the image user`),
    fn: async () => {
      const [root, [l0, l1]] = await tempLayers(2);
      const bundle = `${root}/bundle`;
      try {
        await Deno.mkdir(`${l0}/etc`);
        await Deno.writeTextFile(`${l0}/etc/passwd`, PASSWD);
        await Deno.writeTextFile(`${l0}/etc/group`, GROUP);
        await Deno.writeTextFile(`${l0}/base`, "base");
        mknod(`${l1}/base`, "char", { mode: 0, major: 0, minor: 0 });
        await Deno.writeTextFile(`${l1}/top`, "top");
        const b = await createBundle(bundle, {
          layers: [l0!, l1!],
          config: config({ User: "app", Cmd: ["id"] }),
          mode,
          scratchDir: `${root}/overlay`,
        });
        try {
          assert.equal(b.mode, mode);
          assert.equal(await Deno.readTextFile(`${bundle}/rootfs/top`), "top");
          await assert.rejects(Deno.stat(`${bundle}/rootfs/base`), Deno.errors.NotFound);
          const spec = JSON.parse(await Deno.readTextFile(`${bundle}/config.json`));
          assert.deepEqual(spec.process.user, { uid: 1000, gid: 1001, additionalGids: [10, 29] });
          await assert.rejects(
            createBundle(bundle, { layers: [], config: config(), scratchDir: root }),
            /already has a config.json/,
          );
        } finally {
          if (b.mode === "overlay") umount(`${bundle}/rootfs`);
        }
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
  });
}
