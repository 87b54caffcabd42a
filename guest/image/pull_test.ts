import assert from "node:assert/strict";
import { LayerMediaType, parseReference } from "@coco/lib/oci";
import { ImageError, type ImageErrorCode } from "./errors.ts";
import { layerUnpacker } from "./layer/unpacker.ts";
import { pullImage, type PullOptions } from "./pull.ts";
import { parseRegistriesConf } from "./registries_conf.ts";
import { parseAuthFile } from "./registry/auth_file.ts";
import { buildImage, pushImage, pushIndex } from "./_testing/image.ts";
import { type FakeAuth, FakeRegistry, type FakeRegistryOptions } from "./_testing/registry.ts";
import type { ProgressEvent } from "./progress.ts";
import type { SignatureSubject } from "./layer/hooks.ts";
import { loadSys } from "@coco/lib/sys";

// The unpacker's libc FFI stays loaded for the process; load it outside any test (sanitizer).
loadSys();

const enc = new TextEncoder();
const text = (s: string) => enc.encode(s);

const BASE = buildImage([
  { files: [{ path: "etc/", type: "dir" }, { path: "etc/hello", data: text("hello\n") }] },
  {
    files: [{ path: "bin/", type: "dir" }, {
      path: "bin/tool",
      data: text("#!/bin/sh\n"),
      mode: 0o755,
    }],
    compression: "zstd",
  },
  { files: [{ path: "data.txt", data: text("x".repeat(5000)) }], compression: "none" },
]);

function insecure(host: string, extra = "") {
  return parseRegistriesConf(`[[registry]]\nlocation = "${host}"\ninsecure = true\n${extra}`);
}

async function withRegistry(
  opts: FakeRegistryOptions,
  fn: (reg: FakeRegistry, work: string, base: PullOptions) => Promise<void>,
) {
  const reg = await FakeRegistry.start(opts);
  const work = await Deno.makeTempDir({ prefix: "pull-test-" });
  try {
    await fn(reg, work, {
      workDir: work,
      unpack: layerUnpacker(),
      registriesConf: insecure(reg.host),
    });
  } finally {
    await reg.close();
    await Deno.remove(work, { recursive: true });
  }
}

async function rejects(p: Promise<unknown>, code: ImageErrorCode, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected ImageError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

async function committedLayers(work: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${work}/layers`)) names.push(e.name);
  return names.sort();
}

Deno.test("pullImage() pulls an OCI image with gzip, zstd and plain layers and verifies diff_ids", async () => {
  await withRegistry({}, async (reg, work, base) => {
    const digest = pushImage(reg, "app", "v1", BASE);
    const events: ProgressEvent[] = [];
    const r = await pullImage(`${reg.host}/app:v1`, { ...base, progress: (e) => events.push(e) });
    assert.equal(r.manifestDigest, digest);
    assert.equal(r.digest, digest);
    assert.equal(r.configDigest, BASE.configDigest);
    assert.deepEqual(r.layers.map((l) => l.diffId), BASE.layers.map((l) => l.diffId));
    assert.equal(await Deno.readTextFile(`${r.layers[0]!.path}/etc/hello`), "hello\n");
    assert.equal((await Deno.stat(`${r.layers[1]!.path}/bin/tool`)).mode! & 0o777, 0o755);
    assert.equal((await Deno.readTextFile(`${r.layers[2]!.path}/data.txt`)).length, 5000);
    assert.ok(r.layers.every((l) => !l.reused));
    const accept = reg.requests.find((q) => q.path.includes("/manifests/"))!.accept!;
    for (
      const t of [
        "oci.image.manifest",
        "oci.image.index",
        "docker.distribution.manifest.v2",
        "manifest.list.v2",
      ]
    ) {
      assert.ok(accept.includes(t), `Accept lacks ${t}`);
    }
    assert.deepEqual(events.filter((e) => e.event === "layer" && e.status === "done").length, 3);
    assert.ok(events.some((e) => e.event === "resolved") && events.at(-1)?.event === "done");
    assert.deepEqual(
      await committedLayers(work),
      BASE.layers.map((l) => l.diffId.replace(":", "-")).sort(),
    );
  });
});

Deno.test("pullImage() reuses stored layers without fetching their blobs", async () => {
  await withRegistry({}, async (reg, _work, base) => {
    pushImage(reg, "app", "v1", BASE);
    await pullImage(`${reg.host}/app:v1`, base);
    const before = reg.requests.length;
    const again = await pullImage(`${reg.host}/app:v1`, base);
    assert.ok(again.layers.every((l) => l.reused));
    const blobGets = reg.requests.slice(before).filter((q) => q.path.includes("/blobs/"));
    assert.deepEqual(blobGets.map((q) => q.path), [`/v2/app/blobs/${BASE.configDigest}`]);
  });
});

Deno.test("pullImage() pulls Docker v2 schema 2 images", async () => {
  await withRegistry({}, async (reg, _work, base) => {
    const img = buildImage([{ files: [{ path: "d", data: text("docker") }] }], { docker: true });
    pushImage(reg, "lib/d", "1", img);
    const r = await pullImage(`${reg.host}/lib/d:1`, base);
    assert.equal(await Deno.readTextFile(`${r.layers[0]!.path}/d`), "docker");
  });
});

const authCases: [string, FakeAuth][] = [
  ["basic", { kind: "basic", user: "alice", pass: "s3cret" }],
  ["bearer with credentials", { kind: "bearer", user: "alice", pass: "s3cret" }],
];
for (const [name, auth] of authCases) {
  Deno.test(`pullImage() authenticates with ${name} auth from auth.json and fails without it`, async () => {
    await withRegistry({ auth }, async (reg, _work, base) => {
      pushImage(reg, "team/app", "1", BASE);
      const authFile = parseAuthFile({
        auths: { [`${reg.host}/team`]: { auth: btoa("alice:s3cret\n") } },
      });
      const r = await pullImage(`${reg.host}/team/app:1`, { ...base, auth: authFile });
      assert.equal(r.layers.length, 3);
      if (auth.kind === "bearer") {
        assert.equal(reg.tokenRequests.length, 1, "the token is fetched once and cached");
        assert.match(reg.tokenRequests[0]!.path, /scope=repository%3Ateam%2Fapp%3Apull/);
        assert.equal(reg.tokenRequests[0]!.authorization, `Basic ${btoa("alice:s3cret")}`);
      }
      const wrong = parseAuthFile({ auths: { [reg.host]: { auth: btoa("alice:nope") } } });
      await rejects(
        pullImage(`${reg.host}/team/app:1`, { ...base, workDir: `${base.workDir}/2`, auth: wrong }),
        "auth_failed",
        /refused|Token request/,
      );
    });
  });
}

Deno.test("pullImage() gets an anonymous bearer token and fails clearly on Basic without credentials", async () => {
  await withRegistry({ auth: { kind: "bearer" } }, async (reg, _work, base) => {
    pushImage(reg, "app", "1", BASE);
    await pullImage(`${reg.host}/app:1`, base);
    assert.equal(reg.tokenRequests[0]!.authorization, null);
  });
  await withRegistry(
    { auth: { kind: "basic", user: "u", pass: "p" } },
    async (reg, _work, base) => {
      pushImage(reg, "app", "1", BASE);
      await rejects(pullImage(`${reg.host}/app:1`, base), "auth_failed", /requires credentials/);
    },
  );
});

Deno.test("pullImage() follows blob redirects without sending credentials to the other origin", async () => {
  await withRegistry(
    { auth: { kind: "bearer" }, redirectBlobs: true },
    async (reg, _work, base) => {
      pushImage(reg, "app", "1", BASE);
      const r = await pullImage(`${reg.host}/app:1`, base);
      assert.equal(r.layers.length, 3);
      assert.equal(reg.storageRequests.length, 4, "config and three layers came from storage");
      assert.ok(reg.storageRequests.every((q) => q.authorization === null));
      assert.ok(reg.requests.some((q) => q.authorization?.startsWith("Bearer ")));
    },
  );
});

Deno.test("pullImage() refuses a tampered layer blob and leaves nothing unpacked", async () => {
  await withRegistry({}, async (reg, work, base) => {
    pushImage(reg, "app", "1", BASE);
    const evil =
      buildImage([{ files: [{ path: "etc/hello", data: text("evil!\n") }] }]).layers[0]!.bytes;
    reg.tamperedBlobs.set(BASE.layers[0]!.digest, evil);
    await rejects(
      pullImage(`${reg.host}/app:1`, { ...base, concurrency: 1 }),
      "size_mismatch",
      /announces/,
    );
    // Same size, different bytes: only the digest can tell.
    const same = BASE.layers[0]!.bytes.slice();
    same[same.length - 9]! ^= 1; // inside the gzip trailer CRC
    reg.tamperedBlobs.set(BASE.layers[0]!.digest, same);
    await rejects(
      pullImage(`${reg.host}/app:1`, { ...base, concurrency: 1 }),
      "digest_mismatch",
      /does not match its digest/,
    );
    assert.ok(!(await committedLayers(work)).includes(BASE.layers[0]!.diffId.replace(":", "-")));
    assert.ok(
      (await committedLayers(work)).every((n) => !n.startsWith(".tmp")),
      "temporary dirs removed",
    );
  });
});

Deno.test("pullImage() refuses a manifest that does not match its digest", async () => {
  await withRegistry({ noDigestHeader: true }, async (reg, _work, base) => {
    const d = pushImage(reg, "app", "1", BASE);
    const other = buildImage([{ files: [{ path: "x", data: text("x") }] }]);
    pushImage(reg, "app", "2", other);
    // Serve other's manifest under BASE's digest.
    reg.manifests.set(`app@${d}`, { bytes: other.manifest, mediaType: other.manifestType });
    await rejects(pullImage(`${reg.host}/app@${d}`, base), "digest_mismatch", /requested digest/);
  });
  await withRegistry({}, async (reg, _work, base) => {
    pushImage(reg, "app", "1", BASE);
    const other = buildImage([{ files: [{ path: "x", data: text("x") }] }]);
    const entry = reg.manifests.get("app:1")!;
    // A registry that announces one digest but serves other bytes.
    reg.manifests.set("app:1", {
      ...entry,
      bytes: other.manifest,
      digestHeader: BASE.manifestDigest,
    });
    await rejects(pullImage(`${reg.host}/app:1`, base), "digest_mismatch", /Docker-Content-Digest/);
    reg.manifests.set("app:1", { ...entry, digestHeader: "sha256:nothex" });
    await rejects(
      pullImage(`${reg.host}/app:1`, base),
      "digest_mismatch",
      /malformed Docker-Content-Digest/,
    );
  });
});

Deno.test("pullImage() refuses a layer whose content does not match the config's diff_id", async () => {
  await withRegistry({}, async (reg, work, base) => {
    const liar = buildImage([{ files: [{ path: "a", data: text("a") }] }], {
      editConfig: (c) => {
        (c.rootfs as { diff_ids: string[] }).diff_ids = [`sha256:${"0".repeat(64)}`];
      },
    });
    pushImage(reg, "app", "1", liar);
    await rejects(
      pullImage(`${reg.host}/app:1`, base),
      "diff_id_mismatch",
      /image config lists diff_id/,
    );
    assert.deepEqual(await committedLayers(work), []);
  });
});

Deno.test("pullImage() selects the platform from an index", async () => {
  await withRegistry({}, async (reg, _work, base) => {
    const amd = buildImage([{ files: [{ path: "arch", data: text("amd64") }] }]);
    const arm = buildImage([{ files: [{ path: "arch", data: text("arm64") }] }], {
      platform: { os: "linux", architecture: "arm64" },
    });
    const idx = pushIndex(reg, "multi", "1", [
      { image: amd, platform: { os: "linux", architecture: "amd64" } },
      { image: arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ]);
    const subjects: SignatureSubject[] = [];
    const r = await pullImage(`${reg.host}/multi:1`, {
      ...base,
      platform: { os: "linux", architecture: "aarch64" },
      verifySignature: (s) => {
        subjects.push(s);
        return Promise.resolve();
      },
    });
    assert.equal(subjects[0]?.indexDigest, idx);
    assert.equal(subjects[0]?.manifestDigest, arm.manifestDigest);
    assert.equal(r.digest, idx);
    assert.equal(r.manifestDigest, arm.manifestDigest);
    assert.equal(await Deno.readTextFile(`${r.layers[0]!.path}/arch`), "arm64");
    await rejects(
      pullImage(`${reg.host}/multi:1`, {
        ...base,
        platform: { os: "linux", architecture: "s390x" },
      }),
      "no_matching_platform",
      /linux\/s390x.*available: linux\/amd64, linux\/arm64\/v8/,
    );
  });
});

Deno.test("pullImage() tries mirrors in order, then the primary, and honours blocked rules", async () => {
  const mirror = await FakeRegistry.start();
  try {
    await withRegistry({}, async (reg, _work, base) => {
      pushImage(reg, "app", "1", BASE);
      const conf = (mirrors: string) =>
        parseRegistriesConf(
          `[[registry]]\nprefix = "example.test/app"\nlocation = "${reg.host}/app"\ninsecure = true\n${mirrors}`,
        );
      // The first mirror does not have the image; the second does.
      pushImage(mirror, "mirrored/app", "1", BASE);
      const r = await pullImage("example.test/app:1", {
        ...base,
        registriesConf: conf(
          `[[registry.mirror]]\nlocation = "${reg.host}/nothing-here"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}/mirrored/app"\ninsecure = true`,
        ),
      });
      assert.equal(r.source, `${mirror.host}/mirrored/app:1`);
      assert.equal(r.reference, "example.test/app:1");
      // Without mirrors the remapped primary is used.
      const p = await pullImage("example.test/app:1", { ...base, registriesConf: conf("") });
      assert.equal(p.source, `${reg.host}/app:1`);
      // Every source failing lists each attempt.
      await rejects(
        pullImage("example.test/app:2", {
          ...base,
          registriesConf: conf(
            `[[registry.mirror]]\nlocation = "${mirror.host}/x"\ninsecure = true`,
          ),
        }),
        "pull_failed",
        /every source failed:\n.*x:2: .*manifest unknown\n.*app:2: .*manifest unknown/,
      );
      await rejects(
        pullImage(`${reg.host}/app:1`, {
          ...base,
          registriesConf: insecure(
            reg.host,
            `[[registry]]\nprefix = "${reg.host}/app"\nblocked = true`,
          ),
        }),
        "blocked",
        /blocked by a registry rule/,
      );
    });
  } finally {
    await mirror.close();
  }
});

Deno.test("pullImage() checks the signature policy before fetching layers", async () => {
  await withRegistry({}, async (reg, work, base) => {
    const d = pushImage(reg, "app", "1", BASE);
    const seen: string[] = [];
    await rejects(
      pullImage(`${reg.host}/app:1`, {
        ...base,
        verifySignature: async (s) => {
          seen.push(s.reference.toString(), s.manifestDigest, String(s.manifestBytes.length));
          seen.push(String(s.indexDigest));
          assert.equal(await s.registry.fetchManifest(s.reference, "sha256-abc.sig"), undefined);
          assert.deepEqual(await s.registry.fetchBlob(s.reference, BASE.configDigest), BASE.config);
          await assert.rejects(
            s.registry.fetchBlob(parseReference("other.io/x"), BASE.configDigest),
            /outside the pulled repository/,
          );
          throw new Error("no signature");
        },
      }),
      "signature_rejected",
      /rejected by the signature policy: no signature/,
    );
    assert.deepEqual(seen, [`${reg.host}/app:1`, d, String(BASE.manifest.length), "undefined"]);
    assert.ok(!reg.requests.some((q) => BASE.layers.some((l) => q.path.endsWith(l.digest))));
    assert.deepEqual(await committedLayers(work), []);
  });
});

Deno.test("pullImage() refuses encrypted layers without a decryptor and unknown layer types", async () => {
  await withRegistry({}, async (reg, _work, base) => {
    const img = buildImage([{ files: [{ path: "a", data: text("a") }] }]);
    const m = JSON.parse(new TextDecoder().decode(img.manifest));
    m.layers[0].mediaType = LayerMediaType.encryptedGzip;
    const enc1 = { ...img, manifest: text(JSON.stringify(m)) };
    pushImage(reg, "enc", "1", enc1);
    await rejects(
      pullImage(`${reg.host}/enc:1`, base),
      "decrypt_failed",
      /encrypted and no decryption keys/,
    );
    m.layers[0].mediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    pushImage(reg, "foreign", "1", { ...img, manifest: text(JSON.stringify(m)) });
    await rejects(
      pullImage(`${reg.host}/foreign:1`, base),
      "unsupported_media_type",
      /unhandled media type/,
    );
  });
});

Deno.test("pullImage() refuses an oversized manifest and reports missing images", async () => {
  await withRegistry({}, async (reg, _work, base) => {
    reg.putManifest(
      "big",
      "1",
      new Uint8Array(5 << 20).fill(32),
      "application/vnd.oci.image.manifest.v1+json",
    );
    await rejects(pullImage(`${reg.host}/big:1`, base), "too_large", /limit/);
    await rejects(pullImage(`${reg.host}/absent:1`, base), "not_found", /MANIFEST_UNKNOWN/);
  });
});

Deno.test("pullImage() reports an unreachable registry", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const host = `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  l.close();
  const work = await Deno.makeTempDir();
  try {
    await rejects(
      pullImage(`${host}/x:1`, {
        workDir: work,
        unpack: layerUnpacker(),
        registriesConf: insecure(host),
      }),
      "registry_unreachable",
      new RegExp(`Cannot reach http://${host.replace(".", "\\.")}`),
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  assert.equal(parseReference(`${host}/x:1`).registry, host);
});
