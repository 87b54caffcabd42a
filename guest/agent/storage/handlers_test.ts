import assert from "node:assert/strict";
import { join } from "node:path";
import { agent, create } from "@coco/lib/proto";
import { nullLogger } from "@coco/lib/log";
import { AgentPaths, ensureInside } from "../paths.ts";
import { addStorages } from "./handlers.ts";
import type { ImagePuller, Mounter, StorageContext } from "./types.ts";

const noMounts: Mounter = {
  mount: () => Promise.reject(new Error("no mounts in this test")),
  umount: () => Promise.resolve(),
};

async function withBase(fn: (ctx: StorageContext, base: string) => Promise<void>) {
  const base = await Deno.makeTempDir();
  const pulls: string[] = [];
  const puller: ImagePuller = {
    async pullImage(ref, bundle) {
      pulls.push(ref);
      await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
      return { rootfs: join(bundle, "rootfs") };
    },
  };
  try {
    await fn({ paths: new AgentPaths(base), mounter: noMounts, logger: nullLogger, puller }, base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
  return pulls;
}

const storage = (init: Parameters<typeof create<typeof agent.StorageSchema>>[1]) =>
  create(agent.StorageSchema, init);

Deno.test("image_guest_pull pulls through the injected puller into the bundle", async () => {
  const pulls = await withBase(async (ctx, base) => {
    const [s] = await addStorages(
      [storage({
        driver: "image_guest_pull",
        source: "registry.local/busybox:1",
        mountPoint: join(base, "c1/rootfs"),
      })],
      "c1",
      ctx,
    );
    assert.equal(s?.mountPoint, join(base, "c1/rootfs"));
    assert.ok((await Deno.stat(join(base, "c1/rootfs"))).isDirectory);
  });
  assert.deepEqual(pulls, ["registry.local/busybox:1"]);
});

Deno.test("image_guest_pull refuses a mount point other than the container rootfs", async () => {
  const pulls = await withBase(async (ctx, base) => {
    await assert.rejects(
      addStorages(
        [storage({
          driver: "image_guest_pull",
          source: "x",
          mountPoint: join(base, "c2/rootfs"),
        })],
        "c1",
        ctx,
      ),
      { code: "invalid-argument" },
    );
  });
  assert.deepEqual(pulls, []);
});

Deno.test("local storage applies mode, and escapes or unknown drivers are refused", async () => {
  await withBase(async (ctx, base) => {
    const mp = join(base, "sandbox/storage/vol");
    const [s] = await addStorages(
      [storage({ driver: "local", mountPoint: mp, options: ["mode=0750"] })],
      "",
      ctx,
    );
    assert.equal((await Deno.stat(mp)).mode! & 0o777, 0o750);
    await s!.cleanup();
    await assert.rejects(
      addStorages([storage({ driver: "local", mountPoint: "/etc/evil" })], "", ctx),
      { code: "invalid-argument" },
    );
    await assert.rejects(addStorages([storage({ driver: "9p", mountPoint: mp })], "", ctx), {
      code: "invalid-argument",
    });
  });
});

Deno.test("ensureInside() follows symlinks that point out of the base", async () => {
  await withBase(async (_ctx, base) => {
    await Deno.symlink("/etc", join(base, "link"));
    await assert.rejects(ensureInside(join(base, "link/passwd"), [base], "p"), {
      code: "invalid-argument",
    });
    await assert.rejects(ensureInside(join(base, "../x"), [base], "p"), {
      code: "invalid-argument",
    });
    assert.equal(await ensureInside(join(base, "a/b"), [base], "p"), join(base, "a/b"));
  });
});
