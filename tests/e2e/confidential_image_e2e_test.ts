/**
 * Confidential image pull, end to end with real processes and peers: a trustee (`trustee serve`,
 * resources and a resource policy set with `trustee client config …`), a docker-registry that
 * demands Basic auth (htpasswd), images signed and pushed by skopeo (`--sign-by` into a lookaside
 * store) whose layers were encrypted for the `attestation-agent` key provider with our ocicrypt,
 * and `coco-guest all` (sample TEE: AA + CDH) pulling through the CDH's
 * `api.ImagePullService/PullImage` over its ttrpc socket. policy.json, the GPG public key,
 * registries.d, auth.json, registries.conf and the layer KEK are all `kbs:///` resources that the
 * CDH fetches after attestation.
 *
 * Shown: the signed, encrypted image unpacks and its files match; an unsigned image is refused by
 * the policy; an image whose KEK the resource policy denies fails with a clear error and leaves
 * nothing unpacked.
 *
 * Slightly over 300 lines on purpose: one scenario, so trustee, registry, GPG home and guest are
 * started once.
 */
import assert from "node:assert/strict";
import { stringify } from "smol-toml";
import { cdh } from "@coco/lib/proto";
import { loadSys, umount } from "@coco/lib/sys";
import { connect, createClient, TtrpcClient, TtrpcError } from "@coco/lib/ttrpc";
import { startDeno, type Started } from "../harness.ts";
import { findPeers, requireAlso, skipUnless } from "../peers.ts";
import { buildImage, type BuiltImage } from "../../guest/image/_testing/image.ts";
import { encryptImageForKbs, writeImageLayout } from "../../guest/image/_testing/encrypted.ts";
import {
  htpasswdLine,
  type RealRegistry,
  startRegistry,
} from "../../guest/image/_testing/real_registry.ts";
import { gpgHome } from "../../guest/image/signature/_testing.ts";
import { haveKbsConfig, startTestTrustee, UPSTREAM_KBS_CONFIG } from "./_trustee_fixture.ts";

const peers = requireAlso(
  findPeers("docker-registry", "skopeo", "gpg", "gpgconf", "perl"),
  haveKbsConfig,
  `${UPSTREAM_KBS_CONFIG.pathname} is missing (shared/ testdata not beside the checkout)`,
);

const USER = "puller";
const PASS = `pw-${crypto.randomUUID()}`;
const enc = new TextEncoder();

/** Releases resources to the sample TEE, except the KEK under default/denied-kek. */
const RESOURCE_POLICY = `package policy

default allow = false

allow if {
	data.plugin == "resource"
	input.submods.cpu0["ear.veraison.annotated-evidence"].sample
	data["resource-path"][0] == "default"
	data["resource-path"][1] != "denied-kek"
}
`;

function image(name: string): BuiltImage {
  return buildImage([
    {
      files: [
        { path: "etc/", type: "dir" },
        { path: "etc/os-release", data: enc.encode(`NAME=${name}\n`) },
      ],
    },
    {
      files: [
        { path: "app/", type: "dir" },
        { path: "app/run", data: enc.encode(`#!/bin/sh\necho ${name}\n`), mode: 0o755 },
        { path: "app/data.bin", data: new Uint8Array(300_000).fill(name.length) },
      ],
    },
  ], { run: { Entrypoint: ["/app/run"] } });
}

async function layerNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test({
  name:
    "CDH PullImage: KBS-held policy, keys, auth and KEK; signed+encrypted pulls, others refused",
  ...skipUnless(peers, "confidential image e2e"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    loadSys();
    const work = await Deno.makeTempDir({ prefix: "coco-confimg-" });
    const procs: Started[] = [];
    let registry: RealRegistry | undefined;
    let ttrpc: TtrpcClient | undefined;
    await using gpg = await gpgHome(peers.paths["gpg"]!, work);
    try {
      // Trustee with admin credentials and the resource policy above.
      const trustee = await startTestTrustee(work);
      procs.push(trustee.process);
      const kbs = trustee.url;
      const setResource = trustee.setResource;
      await trustee.setResourcePolicy(RESOURCE_POLICY);

      // A registry that demands Basic auth.
      await Deno.writeTextFile(
        `${work}/htpasswd`,
        await htpasswdLine(peers.paths["perl"]!, USER, PASS),
      );
      registry = await startRegistry(peers.paths["docker-registry"]!, `${work}/registry`, {
        htpasswd: `${work}/htpasswd`,
      });
      const host = registry.host;
      const anonymous = await fetch(`http://${host}/v2/`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401, "the registry must refuse anonymous access");

      // Images: encrypted with our ocicrypt, then signed (or not) and pushed by skopeo.
      const kek = crypto.getRandomValues(new Uint8Array(32));
      const deniedKek = crypto.getRandomValues(new Uint8Array(32));
      await Deno.mkdir(`${work}/registries.d`);
      await Deno.writeTextFile(
        `${work}/registries.d/default.yaml`,
        `docker:\n  ${host}:\n    lookaside-staging: file://${work}/lookaside\n`,
      );
      const push = async (repo: string, img: BuiltImage, sign: boolean) => {
        const layout = `${work}/oci-${repo}`;
        await writeImageLayout(layout, "1", img);
        const args = [
          "--registries.d",
          `${work}/registries.d`,
          "--insecure-policy",
          "copy",
          "--dest-tls-verify=false",
          "--dest-creds",
          `${USER}:${PASS}`,
          ...(sign ? ["--sign-by", gpg.fpr] : []),
          `oci:${layout}:1`,
          `docker://${host}/${repo}:1`,
        ];
        const out = await new Deno.Command(peers.paths["skopeo"]!, {
          args,
          env: gpg.env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, `skopeo ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
      };
      const secret = await encryptImageForKbs(image("secret"), kek, "kbs:///default/image-kek/1");
      await push("secret", secret, true);
      await push("unsigned", image("unsigned"), false);
      const locked = await encryptImageForKbs(
        image("locked"),
        deniedKek,
        "kbs:///default/denied-kek/1",
      );
      await push("locked", locked, true);

      // Everything the CDH needs is a KBS resource.
      await setResource("default/image-kek/1", kek);
      await setResource("default/denied-kek/1", deniedKek);
      await setResource("default/gpg-public-key/test", gpg.publicRing);
      await setResource(
        "default/security-policy/test",
        enc.encode(JSON.stringify({
          default: [{ type: "reject" }],
          transports: {
            docker: {
              [host]: [{
                type: "signedBy",
                keyType: "GPGKeys",
                keyPath: "kbs:///default/gpg-public-key/test",
              }],
            },
          },
        })),
      );
      await setResource(
        "default/sigstore-config/test",
        enc.encode(`docker:\n  ${host}:\n    lookaside: file://${work}/lookaside\n`),
      );
      await setResource(
        "default/credential/test",
        enc.encode(JSON.stringify({ auths: { [host]: { auth: btoa(`${USER}:${PASS}`) } } })),
      );
      await setResource(
        "default/registry-configuration/test",
        enc.encode(`[[registry]]\nlocation = "${host}"\ninsecure = true\n`),
      );

      // The guest: AA (sample TEE) + CDH with an [image] section of kbs:/// URIs.
      const store = `${work}/image-store`;
      await Deno.writeTextFile(
        `${work}/guest.toml`,
        stringify({
          tee: "sample",
          aa: { socket: `unix://${work}/aa.sock`, token_configs: { kbs: { url: kbs } } },
          cdh: {
            socket: `unix://${work}/cdh.sock`,
            kbc: { name: "cc_kbc", url: kbs },
            image: {
              work_dir: store,
              max_concurrent_layer_downloads_per_image: 2,
              image_security_policy_uri: "kbs:///default/security-policy/test",
              sigstore_config_uri: "kbs:///default/sigstore-config/test",
              authenticated_registry_credentials_uri: "kbs:///default/credential/test",
              registry_configuration_uri: "kbs:///default/registry-configuration/test",
            },
          },
          api_server_rest: { bind: "127.0.0.1:0", features: "all" },
        }),
      );
      const guest = await startDeno({
        name: "coco-guest",
        args: ["run", "-A", "guest/main.ts", "all", "--config", `${work}/guest.toml`],
        ready: /cdh listening on (unix:\/\/\S+)/,
      });
      procs.push(guest);
      ttrpc = new TtrpcClient(await connect(guest.match[1]!));
      const pull = createClient(ttrpc, cdh.ImagePullService);
      const bundle = (n: string) => `${work}/bundles/${n}`;
      await Deno.mkdir(`${work}/bundles`);

      // 1. Signed + encrypted, KEK released: files match.
      const ok = await pull.pullImage({ imageUrl: `${host}/secret:1`, bundlePath: bundle("s") });
      assert.match(ok.manifestDigest, /^sha256:[0-9a-f]{64}$/);
      const rootfs = `${bundle("s")}/rootfs`;
      assert.equal(await Deno.readTextFile(`${rootfs}/etc/os-release`), "NAME=secret\n");
      assert.equal(await Deno.readTextFile(`${rootfs}/app/run`), "#!/bin/sh\necho secret\n");
      assert.equal((await Deno.stat(`${rootfs}/app/run`)).mode! & 0o777, 0o755);
      assert.deepEqual(
        await Deno.readFile(`${rootfs}/app/data.bin`),
        new Uint8Array(300_000).fill(6),
      );
      const spec = JSON.parse(await Deno.readTextFile(`${bundle("s")}/config.json`));
      assert.deepEqual(spec.process.args, ["/app/run"]);
      const stored = await layerNames(`${store}/layers`);
      assert.equal(stored.length, 2);

      // 2. Unsigned: refused by the policy before any layer is fetched.
      await assert.rejects(
        pull.pullImage({ imageUrl: `${host}/unsigned:1`, bundlePath: bundle("u") }),
        (e: unknown) =>
          e instanceof TtrpcError && e.code === "INTERNAL" &&
          /Cannot pull image .*unsigned:1 .*rejected by the signature policy/s.test(e.message),
      );
      await assert.rejects(Deno.stat(bundle("u")), Deno.errors.NotFound);

      // 3. KEK denied by the resource policy: clear error, nothing unpacked.
      await assert.rejects(
        pull.pullImage({ imageUrl: `${host}/locked:1`, bundlePath: bundle("l") }),
        (e: unknown) =>
          e instanceof TtrpcError && e.code === "INTERNAL" &&
          /Cannot get key kbs:\/\/\/default\/denied-kek\/1 from the KBS: .*Access denied by policy/s
            .test(e.message),
      );
      await assert.rejects(Deno.stat(bundle("l")), Deno.errors.NotFound);
      assert.deepEqual(await layerNames(`${store}/layers`), stored);
      assert.match(guest.log(), /image pulled/);
    } catch (err) {
      for (const p of procs) console.error(p.log());
      if (registry) console.error(registry.log());
      throw err;
    } finally {
      await ttrpc?.close();
      const mounts = (await Deno.readTextFile("/proc/self/mounts")).split("\n")
        .map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(`${work}/`)).reverse();
      for (const m of mounts) umount(m);
      for (const p of procs.reverse()) await p.stop();
      await registry?.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
