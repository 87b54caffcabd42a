/**
 * End to end against real peers: an image built with umoci (two layers: files of several sizes,
 * symlinks, a hard link, setuid bits, then deletions and an opaque directory), pushed with skopeo
 * to a private docker-registry on loopback as OCI and as Docker v2s2, and pulled with
 * `coco-guest pull` as a child process. The rootfs must hold exactly what `umoci unpack` makes of
 * the same image, in copy mode and (as root) through the overlay mount, and the config.json must
 * carry the image's run settings with the user resolved through its /etc/passwd.
 */
import assert from "node:assert/strict";
import { loadSys, umount } from "@coco/lib/sys";
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";
import { runDeno } from "../harness.ts";
import {
  buildWithUmoci,
  type RealRegistry,
  run,
  startRegistry,
} from "../../guest/image/_testing/real_registry.ts";
import { describeTree } from "../../guest/image/_testing/tree.ts";

loadSys();

const peers = requireAlso(
  findPeers("docker-registry", "skopeo", "umoci"),
  isRoot(),
  "needs root (umoci unpack keeps ownership, overlay mount)",
);
const MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;

const layer1 = async (root: string) => {
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/etc/passwd`,
    "root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/home/app:/bin/sh\n",
  );
  await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\napp:x:4321:\nextra:x:77:app\n");
  await Deno.mkdir(`${root}/usr/share/data`, { recursive: true });
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i += 4096) crypto.getRandomValues(big.subarray(i, i + 4096));
  await Deno.writeFile(`${root}/usr/share/data/big.bin`, big);
  for (let i = 0; i < 40; i++) {
    await Deno.writeTextFile(`${root}/usr/share/data/f${i}.txt`, `file ${i}\n`.repeat(i * 10));
  }
  await Deno.writeTextFile(`${root}/usr/share/data/hard1`, "hard-linked");
  await Deno.link(`${root}/usr/share/data/hard1`, `${root}/usr/share/data/hard2`);
  await Deno.symlink("share/data/f1.txt", `${root}/usr/rel-link`);
  await Deno.symlink("/etc/passwd", `${root}/usr/abs-link`);
  await Deno.writeTextFile(`${root}/usr/suid`, "suid");
  await Deno.chmod(`${root}/usr/suid`, 0o4755);
  await Deno.mkdir(`${root}/opaque/sub`, { recursive: true });
  await Deno.writeTextFile(`${root}/opaque/sub/old`, "old");
  await Deno.writeTextFile(`${root}/to-delete`, "bye");
  await Deno.mkdir(`${root}/home/app`, { recursive: true });
  await Deno.chown(`${root}/home/app`, 1234, 4321);
};
const layer2 = async (root: string) => {
  await Deno.remove(`${root}/to-delete`);
  await Deno.remove(`${root}/opaque`, { recursive: true });
  await Deno.mkdir(`${root}/opaque`);
  await Deno.writeTextFile(`${root}/opaque/new`, "new");
  await Deno.writeTextFile(`${root}/usr/share/data/f3.txt`, "changed\n");
};

async function withImage(fn: (reg: RealRegistry, work: string, umociRef: string) => Promise<void>) {
  const work = await Deno.makeTempDir({ prefix: "image-e2e-" });
  let reg: RealRegistry | undefined;
  try {
    reg = await startRegistry(peers.paths["docker-registry"]!, `${work}/registry`);
    const src = await buildWithUmoci(
      peers.paths["umoci"]!,
      `${work}/oci`,
      "img",
      [layer1, layer2],
      [
        "--config.entrypoint=/bin/app",
        "--config.cmd=--serve",
        "--config.env=MODE=test",
        "--config.workingdir=/home/app",
        "--config.user=app",
        "--os=linux",
        "--architecture=amd64",
      ],
    );
    await fn(reg, work, src);
  } finally {
    await reg?.stop();
    // A failed assertion may leave an overlay rootfs mounted: unmount what lies under `work`.
    const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n").map((l) =>
      l.split(" ")[1] ?? ""
    );
    for (const m of mounts.filter((m) => m.startsWith(`${work}/`)).reverse()) umount(m);
    await Deno.remove(work, { recursive: true });
  }
}

async function pull(reg: RealRegistry, work: string, repo: string, rootfs: "copy" | "overlay") {
  const conf = `${work}/registries.conf`;
  await Deno.writeTextFile(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  const bundle = `${work}/bundle-${repo.replace(/[/:]/g, "_")}-${rootfs}`;
  const r = await runDeno([
    "run",
    "-A",
    MAIN,
    "pull",
    `${reg.host}/${repo}`,
    "--dir",
    bundle,
    "--work-dir",
    `${work}/store`,
    "--registries-conf",
    conf,
    "--rootfs",
    rootfs,
    "--progress",
    "json",
  ]);
  assert.equal(r.code, 0, `coco-guest pull failed:\n${r.stderr}`);
  const progress = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(
    progress.some((e) => e.event === "layer" && ["done", "reused"].includes(e.status)),
    "JSON progress events",
  );
  return { bundle, out: JSON.parse(r.stdout.trim().split("\n").at(-1)!) };
}

Deno.test({
  name: "coco-guest pull unpacks a skopeo-pushed umoci image exactly as umoci does",
  ...skipUnless(peers, "coco-guest pull unpacks a skopeo-pushed umoci image exactly as umoci does"),
  fn: async () => {
    await withImage(async (reg, work, src) => {
      const skopeo = peers.paths["skopeo"]!;
      await run(skopeo, [
        "copy",
        "--dest-tls-verify=false",
        src,
        `docker://${reg.host}/test/oci:1`,
      ]);
      await run(skopeo, [
        "copy",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        src,
        `docker://${reg.host}/test/docker:1`,
      ]);
      await run(peers.paths["umoci"]!, [
        "unpack",
        "--image",
        `${work}/oci:img`,
        `${work}/umoci-bundle`,
      ]);
      const want = await describeTree(`${work}/umoci-bundle/rootfs`);
      assert.ok(
        want["usr/share/data/big.bin"] && !want["to-delete"] && want["opaque/new"] &&
          !want["opaque/sub"],
      );

      const a = await pull(reg, work, "test/oci:1", "copy");
      assert.equal(a.out.layers.length, 2);
      assert.deepEqual(await describeTree(`${a.bundle}/rootfs`), want);
      const spec = JSON.parse(await Deno.readTextFile(`${a.bundle}/config.json`));
      assert.deepEqual(spec.process.args, ["/bin/app", "--serve"]);
      assert.equal(spec.process.cwd, "/home/app");
      assert.ok(spec.process.env.includes("MODE=test"));
      assert.deepEqual(spec.process.user, { uid: 1234, gid: 4321, additionalGids: [77] });

      // Docker v2s2 (re-compressed by skopeo): other digests, same files; overlay rootfs.
      const b = await pull(reg, work, "test/docker:1", "overlay");
      try {
        assert.notEqual(b.out.manifest_digest, a.out.manifest_digest);
        assert.equal(b.out.bundle.mode, "overlay");
        assert.deepEqual(
          b.out.layers.map((l: { reused: boolean }) => l.reused),
          [true, true],
          "same diff_ids reuse the store",
        );
        assert.deepEqual(await describeTree(`${b.bundle}/rootfs`), want);
      } finally {
        umount(`${b.bundle}/rootfs`);
      }
    });
  },
});

Deno.test({
  name: "coco-guest pull fails clearly on a blob corrupted inside the real registry",
  ...skipUnless(
    peers,
    "coco-guest pull fails clearly on a blob corrupted inside the real registry",
  ),
  fn: async () => {
    await withImage(async (reg, work, src) => {
      await run(peers.paths["skopeo"]!, [
        "copy",
        "--dest-tls-verify=false",
        src,
        `docker://${reg.host}/test/bad:1`,
      ]);
      // Flip one byte of the largest stored blob (a layer) in the registry's storage.
      let largest = { path: "", size: 0 };
      for await (const p of walkFiles(`${work}/registry/data`)) {
        const st = await Deno.stat(p);
        if (p.endsWith("/data") && st.size > largest.size) largest = { path: p, size: st.size };
      }
      const f = await Deno.open(largest.path, { read: true, write: true });
      try {
        const b = new Uint8Array(1);
        await f.seek(largest.size - 20, Deno.SeekMode.Start);
        await f.read(b);
        b[0] = b[0]! ^ 0xff;
        await f.seek(largest.size - 20, Deno.SeekMode.Start);
        await f.write(b);
      } finally {
        f.close();
      }
      const conf = `${work}/registries.conf`;
      await Deno.writeTextFile(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
      const r = await runDeno([
        "run",
        "-A",
        MAIN,
        "pull",
        `${reg.host}/test/bad:1`,
        "--dir",
        `${work}/b`,
        "--work-dir",
        `${work}/store`,
        "--registries-conf",
        conf,
        "--progress",
        "none",
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /does not match its digest: expected sha256:/);
      const left = [...Deno.readDirSync(`${work}/store/layers`)].map((e) => e.name);
      assert.ok(left.length <= 1, `at most the intact layer is stored: ${left}`);
      assert.ok(left.every((n) => n.startsWith("sha256-")), `no temporary layer left: ${left}`);
      await assert.rejects(Deno.stat(`${work}/b/config.json`), Deno.errors.NotFound);
    });
  },
});

async function* walkFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walkFiles(p);
    else if (e.isFile) yield p;
  }
}
