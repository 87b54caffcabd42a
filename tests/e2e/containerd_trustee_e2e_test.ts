/**
 * Issue 7's second containerd scenario: an image whose layers are encrypted for the
 * `attestation-agent` key provider (ocicrypt JWE annotation `provider:attestation-agent:…`, KEK
 * held by a real `trustee serve`), run with `ctr run --runtime <launcher> --snapshotter coco` on
 * a private containerd 1.6 in a QEMU pod VM (TCG here). The guest pulls from a loopback registry
 * and gets the KEK from the KBS after attestation with the sample TEE (registry and KBS reach
 * the guest through `shim.guest_forwards`; the init-data annotation carries the KBS URL for the
 * AA and the CDH). The host never holds a layer: the CRI pull goes through the coco snapshotter.
 *
 * Shown: the container exits 0 after its layers (which only decrypt with the KEK) were pulled
 * and decrypted in the guest; with the resource policy denying the KEK, `ctr run` fails naming
 * the key failure and no QEMU is left; the content store holds no layer blob. Exit codes only:
 * container output in the VM is not asserted (a known, separately tracked issue).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initDataAnnotation } from "@coco/lib/initdata";
import { type PrivateContainerd, writeLauncher } from "../../host/shim/_containerd_harness.ts";
import { buildImage, type BuiltImage } from "../../guest/image/_testing/image.ts";
import { encryptImageForKbs, writeImageLayout } from "../../guest/image/_testing/encrypted.ts";
import { type RealRegistry, run, startRegistry } from "../../guest/image/_testing/real_registry.ts";
import type { Started } from "../harness.ts";
import { requireAlso, skipUnless } from "../peers.ts";
import { criPull } from "./_cri.ts";
import { OPEN_POLICY, REGISTRY_IN_GUEST } from "./_vm_fixture.ts";
import {
  assertNoBackendLeft,
  buildGuestImage,
  containerdVmPeers,
  killProcessesNaming,
  qemuShimToml,
  startSnapshotterContainerd,
} from "./_containerd_fixture.ts";
import { haveKbsConfig, startTestTrustee, type TestTrustee } from "./_trustee_fixture.ts";

const peers = requireAlso(
  containerdVmPeers(),
  haveKbsConfig,
  "Trustee's test kbs.toml (shared/testdata) is not beside the checkout",
);
const ROOT = new URL("../../", import.meta.url).pathname;
const HOST_MAIN = join(ROOT, "host/main.ts");
/** Where the guest reaches the KBS. */
const KBS_IN_GUEST = "10.0.2.101:8080";

/** Releases resources to the sample TEE, except anything under default/denied-kek. */
const RESOURCE_POLICY = `package policy

default allow = false

allow if {
	data.plugin == "resource"
	input.submods.cpu0["ear.veraison.annotated-evidence"].sample
	data["resource-path"][0] == "default"
	data["resource-path"][1] != "denied-kek"
}
`;

/** A one-layer image holding a static busybox (gzip, then encrypted). */
async function busyboxImage(busybox: string): Promise<BuiltImage> {
  const dir = (path: string) => ({ path, type: "dir" as const });
  return buildImage([{
    files: [
      dir("bin/"),
      { path: "bin/busybox", data: await Deno.readFile(busybox), mode: 0o755 },
      dir("proc/"),
      dir("dev/"),
      dir("sys/"),
      dir("tmp/"),
      dir("etc/"),
    ],
  }], { run: { Entrypoint: ["/bin/busybox"], Cmd: ["true"] } });
}

function initData(): string {
  const kbs = `http://${KBS_IN_GUEST}`;
  const aa = `[token_configs.kbs]\nurl = "${kbs}"\n`;
  const cdh = `[kbc]\nname = "cc_kbc"\nurl = "${kbs}"\n[image]\n` +
    `work_dir = "/run/kata-containers/image"\n[[image.registry_config.registry]]\n` +
    `location = "${REGISTRY_IN_GUEST}"\ninsecure = true\n`;
  return `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = ${
    JSON.stringify(aa)
  }\n"cdh.toml" = ${JSON.stringify(cdh)}\n`;
}

async function push(skopeo: string, work: string, host: string, repo: string, img: BuiltImage) {
  const layout = join(work, `oci-${repo}`);
  await writeImageLayout(layout, "1", img);
  await run(skopeo, [
    "--insecure-policy",
    "copy",
    "--dest-tls-verify=false",
    `oci:${layout}:1`,
    `docker://${host}/${repo}:1`,
  ]);
}

Deno.test({
  name:
    "containerd + coco shim: encrypted image decrypted in the pod VM with a KBS key; denied key fails",
  ...skipUnless(peers, "containerd trustee e2e"),
  fn: async (t) => {
    await buildGuestImage();
    const dir = await Deno.makeTempDir({ prefix: "ctrd-kbs-" });
    let registry: RealRegistry | undefined;
    let snap: Started | undefined;
    let trustee: TestTrustee | undefined;
    let cd: PrivateContainerd | undefined;
    try {
      await Deno.mkdir(join(dir, "trustee"));
      trustee = await startTestTrustee(join(dir, "trustee"));
      await trustee.setResourcePolicy(RESOURCE_POLICY);
      const kek = crypto.getRandomValues(new Uint8Array(32));
      const deniedKek = crypto.getRandomValues(new Uint8Array(32));
      await trustee.setResource("default/image-kek/1", kek);
      await trustee.setResource("default/denied-kek/1", deniedKek);

      registry = await startRegistry(peers.paths["docker-registry"]!, join(dir, "registry"));
      const plain = await busyboxImage(peers.paths.busybox!);
      const secret = await encryptImageForKbs(plain, kek, "kbs:///default/image-kek/1");
      const locked = await encryptImageForKbs(plain, deniedKek, "kbs:///default/denied-kek/1");
      await push(peers.paths.skopeo!, dir, registry.host, "secret", secret);
      await push(peers.paths.skopeo!, dir, registry.host, "locked", locked);
      const layers = [...secret.layers, ...locked.layers].map((l) => l.digest);
      assert.ok(secret.layers.every((l) => l.mediaType.endsWith("+encrypted")));

      ({ cd, snap } = await startSnapshotterContainerd(dir, registry.host));
      const c = cd;
      const registryPort = Number(registry.host.split(":")[1]);
      const kbsPort = Number(new URL(trustee.url).port);
      await Deno.mkdir(join(dir, "qemu"));
      const cfg = join(dir, "qemu/shim.toml");
      await Deno.writeTextFile(
        cfg,
        qemuShimToml({
          runtimeDir: `${dir}/run`,
          socketDir: `${dir}/s`,
          forwards: [
            { guest: REGISTRY_IN_GUEST, hostPort: registryPort },
            { guest: KBS_IN_GUEST, hostPort: kbsPort },
          ],
        }),
      );
      const launcher = await writeLauncher(join(dir, "qemu"), cfg, HOST_MAIN);
      const k8s = (args: string[]) => c.ctr(["-n", "k8s.io", ...args]);
      const contentHas = (digest: string) =>
        Deno.stat(join(dir, "root/io.containerd.content.v1.content/blobs/sha256", digest.slice(7)))
          .then(() => true, () => false);
      const ctrRun = async (repo: string, id: string) =>
        k8s([
          "run",
          "--runtime",
          launcher,
          "--snapshotter",
          "coco",
          "--rm",
          "--annotation",
          `io.kubernetes.cri.image-name=${REGISTRY_IN_GUEST}/${repo}:1`,
          "--annotation",
          `io.katacontainers.config.hypervisor.cc_init_data=${await initDataAnnotation(
            initData(),
          )}`,
          "--annotation",
          `io.katacontainers.config.agent.policy=${
            new TextEncoder().encode(OPEN_POLICY).toBase64()
          }`,
          `${registry!.host}/${repo}:1`,
          id,
          "/bin/busybox",
          "true",
        ]);

      await t.step("CRI pulls of the encrypted images store no layer on the host", async () => {
        await criPull(c.socket, `${registry!.host}/secret:1`);
        await criPull(c.socket, `${registry!.host}/locked:1`);
        for (const d of layers) assert.equal(await contentHas(d), false, `layer ${d} was fetched`);
      });

      await t.step(
        "the KEK is released after attestation: the guest decrypts, the container exits 0",
        async () => {
          const r = await ctrRun("secret", "enc1");
          assert.equal(
            r.code,
            0,
            `${r.stderr}\n${c.log().slice(-4000)}\n${trustee!.process.log().slice(-2000)}`,
          );
          await assertNoBackendLeft(dir);
        },
      );

      await t.step(
        "the policy denies the KEK: ctr run fails naming the key, no QEMU left",
        async () => {
          const r = await ctrRun("locked", "enc2");
          assert.notEqual(r.code, 0);
          assert.match(
            r.stderr,
            /Cannot decrypt layer sha256:[0-9a-f]{64}: .*Cannot get key kbs:\/\/\/default\/denied-kek\/1 .*Access denied by policy/,
          );
          await assertNoBackendLeft(dir);
          assert.equal((await k8s(["task", "ls", "-q"])).stdout.trim(), "");
          for (const d of layers) {
            assert.equal(await contentHas(d), false, `layer ${d} was fetched`);
          }
        },
      );
    } finally {
      await cd?.stop();
      await snap?.stop();
      await registry?.stop();
      await trustee?.process.stop();
      await killProcessesNaming(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
