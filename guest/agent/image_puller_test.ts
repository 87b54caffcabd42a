import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import { loadSys, umount, UmountFlags } from "@coco/lib/sys";
import { FakeRegistry } from "../image/_testing/registry.ts";
import { buildImage, pushImage } from "../image/_testing/image.ts";
import { guestImagePuller, imagePullConfigFromCdhToml } from "./image_puller.ts";

const enc = new TextEncoder();
loadSys(); // the overlay mount loads libc; not a leak of the test

Deno.test("imagePullConfigFromCdhToml() reads [image] of cdh.toml: registry config, policy, limits", () => {
  const c = imagePullConfigFromCdhToml(
    `[kbc]
name = "offline_fs_kbc"
[image]
work_dir = "/run/img"
image_security_policy_uri = "kbs:///default/security-policy/test"
max_concurrent_layer_downloads_per_image = 2
[[image.registry_config.registry]]
location = "10.0.2.100:5000"
insecure = true
`,
    "cdh.toml",
  );
  assert.equal(c.workDir, "/run/img");
  assert.equal(c.maxConcurrentLayerDownloadsPerImage, 2);
  assert.equal(c.imageSecurityPolicyUri, "kbs:///default/security-policy/test");
  assert.equal(c.registryConfig?.registries[0]?.insecure, true);
  assert.equal(imagePullConfigFromCdhToml(undefined, "none").workDir, "/run/kata-containers/image");
});

Deno.test("imagePullConfigFromCdhToml() refuses bad values naming the key", () => {
  assert.throws(
    () =>
      imagePullConfigFromCdhToml(
        "[image]\nmax_concurrent_layer_downloads_per_image = 0\n",
        "c.toml",
      ),
    /max_concurrent_layer_downloads_per_image/,
  );
  assert.throws(() => imagePullConfigFromCdhToml("[image]\nwork_dir = 3\n", "c.toml"), /work_dir/);
  assert.throws(() => imagePullConfigFromCdhToml('image = "x"\n', "c.toml"), /image/);
  assert.throws(() => imagePullConfigFromCdhToml("[image]\nno_such_key = 1\n", "c.toml"), {
    code: "invalid-argument",
    message: /c\.toml: .*no_such_key/,
  });
});

Deno.test("guestImagePuller() pulls into <bundle>/rootfs; kbs:// policy needs a CDH", async () => {
  const reg = await FakeRegistry.start();
  const work = await Deno.makeTempDir();
  try {
    pushImage(
      reg,
      "app",
      "1",
      buildImage([{ files: [{ path: "etc/hello", data: enc.encode("from-the-registry") }] }]),
    );
    const conf = (extra: string) =>
      imagePullConfigFromCdhToml(
        `[image]\nwork_dir = "${work}/store"\n${extra}[[image.registry_config.registry]]\nlocation = "${reg.host}"\ninsecure = true\n`,
        "cdh.toml",
      );
    const puller = guestImagePuller({ config: conf(""), logger: nullLogger });
    // Copy mode where overlay mounts are not allowed (non-root); overlay otherwise.
    const out = await puller.pullImage(`${reg.host}/app:1`, join(work, "b1"));
    assert.equal(out.rootfs, join(work, "b1/rootfs"));
    assert.equal(await Deno.readTextFile(join(out.rootfs, "etc/hello")), "from-the-registry");
    if (out.mounted) umount(out.rootfs, UmountFlags.DETACH);

    const noCdh = guestImagePuller({
      config: conf('image_security_policy_uri = "kbs:///default/policy/x"\n'),
      logger: nullLogger,
    });
    await assert.rejects(noCdh.pullImage(`${reg.host}/app:1`, join(work, "b2")), /kbs/);
  } finally {
    await reg.close();
    await Deno.remove(work, { recursive: true });
  }
});
