import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import type { AgentSpec } from "./oci_spec.ts";
import { type CopyFileInit, shareHostMounts } from "./shared_files.ts";
import { treeFingerprint, watchSharedMounts } from "./shared_files_watch.ts";

/** Lays out a ConfigMap volume as the kubelet's atomic writer does. */
async function publish(vol: string, stamp: string, value: string) {
  await Deno.mkdir(join(vol, stamp));
  await Deno.writeTextFile(join(vol, stamp, "key"), value);
  await Deno.symlink(stamp, join(vol, "..data_tmp"));
  await Deno.rename(join(vol, "..data_tmp"), join(vol, "..data"));
  await Deno.symlink("..data/key", join(vol, "key")).catch(() => {});
}

Deno.test("ConfigMap updates on the host reach the guest copy; other binds are not watched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "watch-" });
  const vol = join(dir, "pods/uid/volumes/kubernetes.io~configmap/cfg");
  await Deno.mkdir(vol, { recursive: true });
  await publish(vol, "..2026_11_22_1", "v1");
  await Deno.writeTextFile(join(dir, "hosts"), "h");
  const sent: CopyFileInit[] = [];
  let waiter: { hit: (r: CopyFileInit) => boolean; resolve: () => void } | undefined;
  const send = (r: CopyFileInit) => {
    sent.push(r);
    if (waiter?.hit(r)) waiter.resolve();
    return Promise.resolve();
  };
  const spec: AgentSpec = {
    Mounts: [
      { destination: "/etc/cfg", source: vol, type: "bind", options: ["rbind", "ro"] },
      { destination: "/etc/hosts", source: join(dir, "hosts"), type: "bind", options: ["rbind"] },
    ],
  };
  const shared = await shareHostMounts(spec, "c1", "/run/kata-containers", send);
  assert.deepEqual(shared.map((m) => m.watchable), [true, false]);
  assert.match(spec.Mounts![0]!.source!, /\/shared\/containers\/watchable\/c1-[0-9a-f]{16}-cfg$/);
  assert.doesNotMatch(spec.Mounts![1]!.source!, /watchable/);
  const watcher = await watchSharedMounts(shared, send, nullLogger, {
    intervalMs: 10,
    unref: false,
  });
  assert.ok(watcher);
  try {
    sent.length = 0;
    const before = await treeFingerprint(vol);
    const guest = spec.Mounts![0]!.source!;
    const isNewLink = (r: CopyFileInit) =>
      r.path === `${guest}/..data` && new TextDecoder().decode(r.data) === "..2026_11_22_2";
    const copied = new Promise<void>((resolve) => waiter = { hit: isNewLink, resolve });
    await publish(vol, "..2026_11_22_2", "v2");
    await Deno.remove(join(vol, "..2026_11_22_1"), { recursive: true });
    assert.notEqual(await treeFingerprint(vol), before);
    await copied;
    const link = sent.find(isNewLink)!;
    const newKey = sent.findLast((r, i) =>
      i < sent.indexOf(link) && r.path === `${guest}/..2026_11_22_2/key`
    );
    assert.equal(new TextDecoder().decode(newKey!.data), "v2");
    // The new directory went in before the link that points at it.
    assert.ok(sent.indexOf(newKey!) < sent.indexOf(link));
    assert.ok(sent.every((r) => r.path!.startsWith(guest)), "only the ConfigMap is re-copied");
  } finally {
    await watcher.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no watchable mount, no watcher; an unreadable tree has an empty fingerprint", async () => {
  const w = await watchSharedMounts(
    [{ host: "/etc/hosts", guest: "/g", watchable: false, what: "m" }],
    () => Promise.resolve(),
    nullLogger,
  );
  assert.equal(w, undefined);
  assert.equal(await treeFingerprint("/nonexistent/coco"), "");
});
