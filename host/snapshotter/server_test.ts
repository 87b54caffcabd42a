/**
 * The snapshotter over a real grpc-js client on a unix socket: containerd's snapshot semantics
 * in overlay mode, the nydus-proxy guest-pull flow, status codes for hostile requests, and
 * persistence across a restart.
 */
import assert from "node:assert/strict";
import type { ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { snapshots } from "@coco/lib/proto";
import { SnapshotsClient } from "./client.ts";
import { parseGuestPullMount } from "./kata_volume.ts";
import { startSnapshotterServer } from "./server.ts";
import type { UnlabelledLayerPolicy } from "./snapshotter.ts";

interface Env {
  c: SnapshotsClient;
  root: string;
  dir: string;
}

async function withServer(
  fn: (env: Env) => Promise<void>,
  policy: UnlabelledLayerPolicy = "overlay",
  dir?: string,
): Promise<void> {
  const base = dir ?? await Deno.makeTempDir({ prefix: "coco-snap-" });
  const root = `${base}/root`;
  const server = await startSnapshotterServer({
    socket: `${base}/s.sock`,
    root,
    unlabelledLayers: policy,
  });
  const c = new SnapshotsClient(`${base}/s.sock`);
  try {
    await fn({ c, root, dir: base });
  } finally {
    c.close();
    await server.close();
    if (!dir) await Deno.remove(base, { recursive: true });
  }
}

async function code(p: Promise<unknown>, re?: RegExp): Promise<status> {
  try {
    await p;
  } catch (err) {
    if (re) assert.match((err as ServiceError).details, re);
    return (err as ServiceError).code;
  }
  throw new Error("call succeeded");
}

const CHAIN1 = "sha256:" + "1".repeat(64);
const CHAIN2 = "sha256:" + "2".repeat(64);
const criLabels = (chain: string, digest: string) => ({
  "containerd.io/snapshot.ref": chain,
  "containerd.io/snapshot/cri.image-ref": "registry.example/app:1",
  "containerd.io/snapshot/cri.layer-digest": digest,
  "containerd.io/snapshot/cri.manifest-digest": "sha256:" + "9".repeat(64),
});

Deno.test("overlay mode follows containerd's overlayfs snapshotter", () =>
  withServer(async ({ c, root }) => {
    const first = await c.prepare({ key: "default/1/extract-1 " + CHAIN1 });
    assert.deepEqual(
      first.mounts.map((m) => [m.type, m.source, m.options]),
      [["bind", `${root}/snapshots/1/fs`, ["rw", "rbind"]]],
    );
    await Deno.writeTextFile(`${root}/snapshots/1/fs/hello`, "x".repeat(5000));
    await c.commit({ name: "base", key: "default/1/extract-1 " + CHAIN1, labels: { l: "1" } });
    const usage = await c.usage({ key: "base" });
    assert.ok(usage.size >= 5000n && usage.inodes === 2n, `usage ${usage.size}/${usage.inodes}`);
    await c.prepare({ key: "mid-a", parent: "base" });
    await c.commit({ name: "mid", key: "mid-a" });
    const top = await c.prepare({ key: "ctr", parent: "mid" });
    assert.deepEqual(top.mounts.map((m) => [m.type, m.options]), [[
      "overlay",
      [
        `workdir=${root}/snapshots/3/work`,
        `upperdir=${root}/snapshots/3/fs`,
        `lowerdir=${root}/snapshots/2/fs:${root}/snapshots/1/fs`,
      ],
    ]]);
    assert.deepEqual((await c.mounts({ key: "ctr" })).mounts, top.mounts);
    const view1 = await c.view({ key: "v1", parent: "base" });
    assert.deepEqual(view1.mounts.map((m) => [m.type, m.source, m.options]), [
      ["bind", `${root}/snapshots/1/fs`, ["ro", "rbind"]],
    ]);
    const view2 = await c.view({ key: "v2", parent: "mid" });
    assert.deepEqual(view2.mounts[0]!.options, [
      `lowerdir=${root}/snapshots/2/fs:${root}/snapshots/1/fs`,
    ]);
    const info = (await c.stat({ key: "ctr" })).info!;
    assert.equal(info.kind, snapshots.Kind.ACTIVE);
    assert.equal(info.parent, "mid");
    assert.equal((await c.stat({ key: "v1" })).info!.kind, snapshots.Kind.VIEW);
    assert.equal((await c.stat({ key: "base" })).info!.labels.l, "1");
    assert.deepEqual((await c.list({ filters: ["kind==committed"] })).map((i) => i.name).sort(), [
      "base",
      "mid",
    ]);
    assert.equal(await code(c.remove({ key: "base" }), /has children/), status.FAILED_PRECONDITION);
    for (const k of ["ctr", "v1", "v2", "mid"]) await c.remove({ key: k });
    await assert.rejects(Deno.stat(`${root}/snapshots/3`));
    assert.deepEqual((await c.list()).map((i) => i.name), ["base"]);
  }));

Deno.test("Update replaces or edits labels by field mask and refuses immutable fields", () =>
  withServer(async ({ c }) => {
    await c.prepare({ key: "a", labels: { keep: "1", drop: "2" } });
    const upd = await c.update({
      info: { name: "a", labels: { add: "3" } },
      updateMask: { paths: ["labels.add", "labels.drop"] },
    });
    assert.deepEqual(upd.info!.labels, { keep: "1", add: "3" });
    const all = await c.update({ info: { name: "a", labels: { only: "x" } } });
    assert.deepEqual(all.info!.labels, { only: "x" });
    assert.ok(all.info!.updatedAt!.seconds >= all.info!.createdAt!.seconds);
    assert.equal(
      await code(c.update({ info: { name: "a", parent: "p" }, updateMask: { paths: ["parent"] } })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await code(c.update({ info: { name: "nope" } })), status.NOT_FOUND);
    assert.equal(await code(c.update({})), status.INVALID_ARGUMENT);
  }));

Deno.test("guest pull: CRI-labelled layers are committed empty and answered ALREADY_EXISTS", () =>
  withServer(async ({ c, root }) => {
    const l1 = criLabels(CHAIN1, "sha256:" + "a".repeat(64));
    assert.equal(
      await code(
        c.prepare({ key: "default/1/extract-1 " + CHAIN1, labels: l1 }),
        /pulled in the guest/,
      ),
      status.ALREADY_EXISTS,
    );
    const l2 = criLabels(CHAIN2, "sha256:" + "b".repeat(64));
    assert.equal(
      await code(c.prepare({ key: "default/2/extract-2 " + CHAIN2, parent: CHAIN1, labels: l2 })),
      status.ALREADY_EXISTS,
    );
    // What containerd 1.6 asks next to find the committed target.
    const found = await c.list({
      filters: [`labels."containerd.io/snapshot.ref"==${CHAIN2},parent=="${CHAIN1}"`],
    });
    assert.deepEqual(found.map((i) => [i.name, i.kind]), [[CHAIN2, snapshots.Kind.COMMITTED]]);
    assert.equal(found[0]!.labels["containerd.io/snapshot/coco.guest-pull"], "true");
    assert.deepEqual(await c.usage({ key: CHAIN2 }), await c.usage({ key: CHAIN1 }));
    assert.equal((await c.usage({ key: CHAIN2 })).size, 0n);
    // A second pull of the same image (other namespace) finds the layer already there.
    assert.equal(
      await code(c.prepare({ key: "k8s.io/9/extract-9 " + CHAIN1, labels: l1 })),
      status.ALREADY_EXISTS,
    );
    const ctr = await c.prepare({ key: "default/3/ctr", parent: CHAIN2, labels: { own: "1" } });
    assert.equal(ctr.mounts.length, 1);
    const volume = parseGuestPullMount(ctr.mounts[0]!);
    assert.equal(volume?.source, "registry.example/app:1");
    assert.equal(
      volume?.image_pull?.metadata["containerd.io/snapshot/cri.layer-digest"],
      l2["containerd.io/snapshot/cri.layer-digest"],
    );
    assert.equal(volume?.image_pull?.metadata.own, "1");
    assert.ok(ctr.mounts[0]!.options.includes(`lowerdir=${root}/empty`));
    const view = await c.view({ key: "default/4/view", parent: CHAIN2 });
    assert.equal(view.mounts[0]!.options.some((o) => o.startsWith("upperdir=")), false);
    assert.ok(parseGuestPullMount(view.mounts[0]!));
    // Nothing but empty directories for the container snapshots.
    const dirs = [...Deno.readDirSync(`${root}/snapshots`)].map((e) => e.name).sort();
    assert.deepEqual(dirs, ["1", "2"]);
    assert.deepEqual([...Deno.readDirSync(`${root}/snapshots/1/fs`)], []);
  }));

Deno.test("unlabelled layers follow the policy: overlay, guest-pull, refuse", async () => {
  const withRef = { "containerd.io/snapshot.ref": CHAIN1 };
  await withServer(async ({ c }) => {
    const m = await c.prepare({ key: "default/1/extract-1 " + CHAIN1, labels: withRef });
    assert.equal(m.mounts[0]!.type, "bind");
  }, "overlay");
  await withServer(async ({ c }) => {
    assert.equal(
      await code(c.prepare({ key: "default/1/extract-1 " + CHAIN1, labels: withRef })),
      status.ALREADY_EXISTS,
    );
    const ctr = await c.prepare({ key: "ctr", parent: CHAIN1 });
    assert.equal(parseGuestPullMount(ctr.mounts[0]!)?.source, "dummy-image-reference");
    assert.equal(
      await code(c.prepare({ key: "default/2/extract-2 " + CHAIN2 }), /without the containerd/),
      status.FAILED_PRECONDITION,
    );
  }, "guest-pull");
  await withServer(async ({ c }) => {
    assert.equal(
      await code(c.prepare({ key: "x/extract-1 " + CHAIN1, labels: withRef }), /refuses/),
      status.FAILED_PRECONDITION,
    );
    assert.equal(
      await code(c.prepare({ key: "default/1/extract-1 " + CHAIN1 }), /ctr 1\.6/),
      status.FAILED_PRECONDITION,
    );
    // Ordinary snapshots (no layer key, no label) still work.
    assert.equal((await c.prepare({ key: "plain" })).mounts[0]!.type, "bind");
    assert.deepEqual((await c.list()).map((i) => i.name), ["plain"]);
  }, "refuse");
});

Deno.test("hostile requests get the right status and change nothing", () =>
  withServer(async ({ c }) => {
    await c.prepare({ key: "active" });
    const cases: [Promise<unknown>, status, RegExp][] = [
      [c.prepare({ key: "" }), status.INVALID_ARGUMENT, /key is empty/],
      [c.prepare({ key: "active" }), status.ALREADY_EXISTS, /already exists/],
      [c.prepare({ key: "k", parent: "missing" }), status.NOT_FOUND, /parent "missing"/],
      [c.prepare({ key: "k", parent: "active" }), status.INVALID_ARGUMENT, /not committed/],
      [c.prepare({ key: "k", labels: { big: "x".repeat(4094) } }), status.INVALID_ARGUMENT, /4096/],
      [c.prepare({ key: "k", labels: { "": "v" } }), status.INVALID_ARGUMENT, /label key is empty/],
      [c.commit({ name: "", key: "active" }), status.INVALID_ARGUMENT, /name is empty/],
      [c.commit({ name: "n", key: "missing" }), status.NOT_FOUND, /"missing" does not exist/],
      [c.commit({ name: "n", key: "active", parent: "p" }), status.INVALID_ARGUMENT, /rebas/],
      [c.mounts({ key: "missing" }), status.NOT_FOUND, /does not exist/],
      [c.stat({ key: "missing" }), status.NOT_FOUND, /does not exist/],
      [c.remove({ key: "missing" }), status.NOT_FOUND, /does not exist/],
      [c.usage({ key: "" }), status.INVALID_ARGUMENT, /key is empty/],
      [c.list({ filters: ['name=="open'] }), status.INVALID_ARGUMENT, /Cannot parse filter/],
    ];
    for (const [p, want, re] of cases) assert.equal(await code(p, re), want, String(re));
    await c.commit({ name: "done", key: "active" });
    assert.equal(await code(c.commit({ name: "again", key: "done" })), status.FAILED_PRECONDITION);
    assert.equal(await code(c.mounts({ key: "done" })), status.FAILED_PRECONDITION);
    await c.prepare({ key: "b" });
    assert.equal(await code(c.commit({ name: "done", key: "b" })), status.ALREADY_EXISTS);
    assert.deepEqual((await c.list()).map((i) => i.name).sort(), ["b", "done"]);
  }));

Deno.test("metadata survives a restart and Cleanup removes orphaned directories", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coco-snap-" });
  try {
    await withServer(
      async ({ c }) => {
        await c.prepare({ key: "a" });
        await c.commit({ name: "A", key: "a", labels: { x: "y" } });
        await c.prepare({ key: "b", parent: "A" });
      },
      "overlay",
      dir,
    );
    await Deno.mkdir(`${dir}/root/snapshots/77/fs`, { recursive: true });
    await withServer(
      async ({ c, root }) => {
        assert.equal((await c.stat({ key: "A" })).info!.labels.x, "y");
        assert.equal((await c.stat({ key: "b" })).info!.parent, "A");
        await c.cleanup();
        assert.deepEqual([...Deno.readDirSync(`${root}/snapshots`)].map((e) => e.name).sort(), [
          "1",
          "2",
        ]);
        const next = await c.prepare({ key: "c" });
        assert.equal(next.mounts[0]!.source, `${root}/snapshots/3/fs`, "ids are not reused");
      },
      "overlay",
      dir,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent Prepares of one key: exactly one wins", () =>
  withServer(async ({ c }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => c.prepare({ key: "same" })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.equal((await c.list()).length, 1);
  }));
