import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import { cdh } from "@coco/lib/proto";
import { loadSys } from "@coco/lib/sys";
import { createClient, TtrpcError } from "@coco/lib/ttrpc";
import { memoryTtrpc } from "../_testing/ttrpc.ts";
import { buildImage, type BuiltImage, pushImage } from "../image/_testing/image.ts";
import { encryptImageForKbs } from "../image/_testing/encrypted.ts";
import { FakeRegistry } from "../image/_testing/registry.ts";
import { ATOMIC_TYPE, encodeSignedPayload } from "../image/signature/payload.ts";
import { pgpKey, pgpSign } from "../image/signature/_testing.ts";
import {
  ConfidentialDataHub,
  type Kbc,
  parseImagePullConfig,
  type PullMeasurement,
  registerConfidentialDataHub,
} from "./mod.ts";

// The unpacker's libc FFI stays loaded for the process; load it outside any test (sanitizer).
loadSys();

const enc = new TextEncoder();
const KEK = crypto.getRandomValues(new Uint8Array(32));
const USER = "alice";
const PASS = "s3cret";

const PLAIN = buildImage([
  { files: [{ path: "etc/", type: "dir" }, { path: "etc/motd", data: enc.encode("hi\n") }] },
  {
    files: [{ path: "app/", type: "dir" }, {
      path: "app/run",
      data: enc.encode("go"),
      mode: 0o755,
    }],
  },
], { run: { Cmd: ["/app/run"] } });

interface World {
  reg: FakeRegistry;
  work: string;
  resources: Map<string, Uint8Array>;
  fetched: string[];
  measured: PullMeasurement[];
  hub: ConfidentialDataHub;
  client: {
    pullImage(r: { imageUrl: string; bundlePath: string }): Promise<{ manifestDigest: string }>;
  };
  sign(repo: string, image: BuiltImage): Promise<void>;
}

/** A registry with Basic auth, a hub whose KBS holds the policy, keys, auth and registry config. */
async function world(fn: (w: World) => Promise<void>) {
  const reg = await FakeRegistry.start({ auth: { kind: "basic", user: USER, pass: PASS } });
  const work = await Deno.makeTempDir({ prefix: "cdh-pull-" });
  const signer = await pgpKey();
  const resources = new Map<string, Uint8Array>();
  const fetched: string[] = [];
  const put = (path: string, v: string | Uint8Array) =>
    resources.set(path, typeof v === "string" ? enc.encode(v) : v);
  put("default/image-kek/1", KEK);
  put("default/gpg-public-key/test", signer.publicRing);
  put(
    "default/security-policy/test",
    JSON.stringify({
      default: [{ type: "reject" }],
      transports: {
        docker: {
          [reg.host]: [{
            type: "signedBy",
            keyType: "GPGKeys",
            keyPath: "kbs:///default/gpg-public-key/test",
          }],
        },
      },
    }),
  );
  put(
    "default/sigstore-config/test",
    `docker:\n  ${reg.host}:\n    lookaside: file://${work}/sigs\n`,
  );
  put(
    "default/credential/test",
    JSON.stringify({ auths: { [reg.host]: { auth: btoa(`${USER}:${PASS}`) } } }),
  );
  put(
    "default/registry-configuration/test",
    `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`,
  );
  const kbc: Kbc = {
    getResource(uri) {
      const path = uri.path.join("/");
      fetched.push(path);
      const v = resources.get(path);
      return v ? Promise.resolve(v) : Promise.reject(new Error(`${path}: denied by policy`));
    },
    close() {},
  };
  const measured: PullMeasurement[] = [];
  const hub = new ConfidentialDataHub({
    kbc,
    skipSealedSecretVerification: false,
    logger: nullLogger,
    image: parseImagePullConfig({
      work_dir: `${work}/store`,
      image_security_policy_uri: "kbs:///default/security-policy/test",
      sigstore_config_uri: "kbs:///default/sigstore-config/test",
      authenticated_registry_credentials_uri: "kbs:///default/credential/test",
      registry_configuration_uri: "kbs:///default/registry-configuration/test",
    }),
    measure: (e) => Promise.resolve(void measured.push(e)),
    imagePull: { rootfsMode: "copy" },
  });
  const rpc = memoryTtrpc((s) => registerConfidentialDataHub(s, hub));
  const sign = async (repo: string, image: BuiltImage) => {
    const dir = `${work}/sigs/${repo}@${image.manifestDigest.replace(":", "=")}`;
    await Deno.mkdir(dir, { recursive: true });
    const payload = encodeSignedPayload(`${reg.host}/${repo}:1`, image.manifestDigest, ATOMIC_TYPE);
    await Deno.writeFile(`${dir}/signature-1`, await pgpSign(payload, signer.privateKey));
  };
  try {
    await fn({
      reg,
      work,
      resources,
      fetched,
      measured,
      hub,
      client: createClient(rpc.client(), cdh.ImagePullService),
      sign,
    });
  } finally {
    await rpc[Symbol.asyncDispose]();
    hub.close();
    await reg.close();
    await Deno.remove(work, { recursive: true });
  }
}

async function storedLayers(work: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${work}/store/layers`)) out.push(e.name);
  return out;
}

async function rejectsWith(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TtrpcError, String(e));
    assert.equal(e.code, "INTERNAL");
    assert.match(e.message, /^\[CDH\] \[ERROR\]: Cannot pull image /);
    assert.match(e.message, re);
    return true;
  });
}

Deno.test("PullImage pulls a signed, encrypted image with policy, keys, auth and registries.conf from the KBS", async () => {
  await world(async (w) => {
    const image = await encryptImageForKbs(PLAIN, KEK, "kbs:///default/image-kek/1");
    pushImage(w.reg, "app", "1", image);
    await w.sign("app", image);
    const bundle = `${w.work}/bundle`;
    const out = await w.client.pullImage({ imageUrl: `${w.reg.host}/app:1`, bundlePath: bundle });
    assert.equal(out.manifestDigest, image.manifestDigest);
    assert.equal(await Deno.readTextFile(`${bundle}/rootfs/etc/motd`), "hi\n");
    assert.equal(await Deno.readTextFile(`${bundle}/rootfs/app/run`), "go");
    assert.equal((await Deno.stat(`${bundle}/rootfs/app/run`)).mode! & 0o777, 0o755);
    const spec = JSON.parse(await Deno.readTextFile(`${bundle}/config.json`));
    assert.deepEqual(spec.process.args, ["/app/run"]);
    // The registry demands Basic auth: the credentials came from the KBS-held auth.json.
    const basic = `Basic ${btoa(`${USER}:${PASS}`)}`;
    assert.ok(w.reg.requests.some((r) => r.authorization === basic));
    assert.deepEqual(w.measured, [{
      domain: "github.com/confidential-containers",
      operation: "PullImage",
      content: JSON.stringify({ image: `${w.reg.host}/app:1`, digest: image.manifestDigest }),
    }]);
    // Config resources are fetched once per CDH; the KEK once per encrypted layer and pull.
    await w.client.pullImage({ imageUrl: `${w.reg.host}/app:1`, bundlePath: `${w.work}/b2` });
    const count = (p: string) => w.fetched.filter((f) => f === p).length;
    assert.equal(count("default/security-policy/test"), 1);
    assert.equal(count("default/credential/test"), 1);
    assert.equal(count("default/image-kek/1"), 4);
  });
});

Deno.test("PullImage refuses an unsigned image by policy and leaves nothing behind", async () => {
  await world(async (w) => {
    pushImage(w.reg, "plain", "1", PLAIN);
    const bundle = `${w.work}/bundle`;
    await rejectsWith(
      w.client.pullImage({ imageUrl: `${w.reg.host}/plain:1`, bundlePath: bundle }),
      /rejected by the signature policy/,
    );
    assert.deepEqual(await storedLayers(w.work), []);
    await assert.rejects(Deno.stat(bundle), Deno.errors.NotFound);
    assert.deepEqual(w.measured, []);
  });
});

Deno.test("PullImage fails clearly when the KBS refuses the layer KEK and unpacks nothing", async () => {
  await world(async (w) => {
    const image = await encryptImageForKbs(PLAIN, KEK, "kbs:///default/denied-kek/1");
    pushImage(w.reg, "locked", "1", image);
    await w.sign("locked", image);
    const bundle = `${w.work}/bundle`;
    await rejectsWith(
      w.client.pullImage({ imageUrl: `${w.reg.host}/locked:1`, bundlePath: bundle }),
      /Cannot get key kbs:\/\/\/default\/denied-kek\/1 from the KBS: .*denied by policy/,
    );
    assert.deepEqual(await storedLayers(w.work), []);
    await assert.rejects(Deno.stat(bundle), Deno.errors.NotFound);
  });
});

Deno.test("PullImage retries loading its configuration after a failed first attempt", async () => {
  await world(async (w) => {
    pushImage(w.reg, "app", "1", PLAIN);
    await w.sign("app", PLAIN);
    const policy = w.resources.get("default/security-policy/test")!;
    w.resources.delete("default/security-policy/test");
    await rejectsWith(
      w.client.pullImage({ imageUrl: `${w.reg.host}/app:1`, bundlePath: `${w.work}/b1` }),
      /Cannot load kbs:\/\/\/default\/security-policy\/test: .*denied by policy/,
    );
    w.resources.set("default/security-policy/test", policy);
    const out = await w.client.pullImage({
      imageUrl: `${w.reg.host}/app:1`,
      bundlePath: `${w.work}/b2`,
    });
    assert.equal(out.manifestDigest, PLAIN.manifestDigest);
  });
});

Deno.test("PullImage refuses hostile requests, naming the field", async () => {
  await world(async (w) => {
    pushImage(w.reg, "app", "1", PLAIN);
    await w.sign("app", PLAIN);
    const img = `${w.reg.host}/app:1`;
    const cases: [string, string, RegExp][] = [
      ["", `${w.work}/b`, /image_url is empty/],
      ["UPPER/Case:1", `${w.work}/b`, /UPPER\/Case:1/],
      [img, "relative/bundle", /bundle_path `relative\/bundle` must be an absolute/],
      [img, "/", /bundle_path `\/` must be an absolute directory/],
      [img, `${w.work}/../escape`, /must not contain \.\. components/],
    ];
    for (const [imageUrl, bundlePath, re] of cases) {
      await rejectsWith(w.client.pullImage({ imageUrl, bundlePath }), re);
    }
    // A bundle that already has a config.json is not overwritten.
    await Deno.mkdir(`${w.work}/used`);
    await Deno.writeTextFile(`${w.work}/used/config.json`, "{}");
    await rejectsWith(
      w.client.pullImage({ imageUrl: img, bundlePath: `${w.work}/used` }),
      /already has a config\.json/,
    );
    assert.equal(await Deno.readTextFile(`${w.work}/used/config.json`), "{}");
  });
});
