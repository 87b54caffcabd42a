import assert from "node:assert/strict";
import { join } from "node:path";
import { agent, create } from "@coco/lib/proto";
import { nullLogger } from "@coco/lib/log";
import { AgentPaths } from "../paths.ts";
import { blockHandler, type ToolRunner } from "./encrypted_block.ts";
import type { Mounter } from "./types.ts";

async function withCtx(
  fn: (
    ctx: { paths: AgentPaths; mounter: Mounter; logger: typeof nullLogger },
    log: string[],
    base: string,
  ) => Promise<void>,
) {
  const base = await Deno.makeTempDir();
  const log: string[] = [];
  const mounter: Mounter = {
    mount: (src, target, fstype) => {
      log.push(`mount ${src} ${target.slice(base.length)} ${fstype}`);
      return Promise.resolve();
    },
    umount: (target) => {
      log.push(`umount ${target.slice(base.length)}`);
      return Promise.resolve();
    },
  };
  try {
    await fn({ paths: new AgentPaths(base), mounter, logger: nullLogger }, log, base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const keys: Uint8Array[] = [];
const fakeTools = (log: string[]): ToolRunner => (cmd, args, stdin) => {
  log.push(`${cmd} ${args.filter((a) => !a.includes("/luks-headers/")).join(" ")}`);
  if (stdin) keys.push(stdin.slice());
  return Promise.resolve(
    cmd === "losetup" && args.length === 1 && args[0] === "-f" ? "/dev/loop7\n" : "",
  );
};

Deno.test("blk with encryption_key=ephemeral: loop file → LUKS2 → mkfs → mount, undone in reverse", async () => {
  await withCtx(async (ctx, log, base) => {
    keys.length = 0;
    const s = await blockHandler(fakeTools(log)).handle(
      create(agent.StorageSchema, {
        driver: "blk",
        source: "loop:32",
        driverOptions: ["encryption_key=ephemeral"],
        mountPoint: join(base, "sandbox/storage/secure"),
      }),
      "",
      ctx,
    );
    const name = log.find((l) => l.startsWith("cryptsetup open"))!.split(" ").at(-1)!;
    assert.match(name, /^coco-eph-/);
    assert.deepEqual(log.map((l) => l.split(" ").slice(0, 2).join(" ")), [
      "losetup -f",
      "losetup /dev/loop7",
      "cryptsetup luksFormat",
      "cryptsetup open",
      "mke2fs -q",
      "mount /dev/mapper/" + name,
    ]);
    // The same random 64-byte key formats and opens; it is wiped after use.
    assert.equal(keys.length, 2);
    assert.equal(keys[0]!.length, 64);
    assert.deepEqual(keys[0], keys[1]);
    log.length = 0;
    await s.cleanup();
    assert.deepEqual(log, [
      "umount /sandbox/storage/secure",
      `cryptsetup close ${name}`,
      "losetup -d /dev/loop7",
    ]);
  });
});

Deno.test("blk refuses bad sources, sizes, keys and mount points without side effects", async () => {
  await withCtx(async (ctx, log, base) => {
    const h = blockHandler(fakeTools(log));
    const mp = join(base, "sandbox/storage/x");
    const cases = [
      { source: "/etc/passwd", driverOptions: [] },
      { source: "/dev/../etc/shadow", driverOptions: [] },
      { source: "loop:1", driverOptions: ["encryption_key=ephemeral"] },
      { source: "loop:32", driverOptions: [] },
      { source: "loop:32", driverOptions: ["encryption_key=kbs:///a/b/c"] },
    ];
    for (const c of cases) {
      await assert.rejects(
        h.handle(create(agent.StorageSchema, { driver: "blk", mountPoint: mp, ...c }), "", ctx),
        (err: { code?: string }) => ["invalid-argument", "not-found"].includes(err.code ?? ""),
      );
    }
    await assert.rejects(
      h.handle(
        create(agent.StorageSchema, { driver: "blk", source: "loop:32", mountPoint: "/mnt" }),
        "",
        ctx,
      ),
      { code: "invalid-argument" },
    );
    assert.deepEqual(log, []);
  });
});
