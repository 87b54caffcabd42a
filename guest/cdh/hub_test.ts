import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import { cdh } from "@coco/lib/proto";
import { createClient, TtrpcError } from "@coco/lib/ttrpc";
import { createAttester } from "../attester/mod.ts";
import {
  AttestationAgent,
  defaultAaConfig,
  registerAttestationAgent,
} from "../attestation_agent/mod.ts";
import { type FakeKbs, startFakeKbs } from "../_testing/fake_kbs.ts";
import { memoryTtrpc } from "../_testing/ttrpc.ts";
import {
  aaTokenProvider,
  ConfidentialDataHub,
  createKbc,
  type KbcConfig,
  type PassportKbc,
  registerConfidentialDataHub,
} from "./mod.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Fake KBS ← AA (sample) ← CDH, the AA and CDH on in-memory ttrpc. */
function stack(kbs: FakeKbs, kbcConfig?: KbcConfig, offlineFiles?: string[]) {
  const config = defaultAaConfig();
  config.tokenConfigs.kbs = { url: kbs.url, teeKeyAlgorithm: "ECDH-ES+A256KW-P256" };
  const agent = new AttestationAgent({
    attester: createAttester({ tee: "sample" }),
    config,
    logger: nullLogger,
  });
  const aaRpc = memoryTtrpc((s) => registerAttestationAgent(s, agent));
  const kbc = createKbc(kbcConfig ?? { name: "cc_kbc", url: kbs.url }, {
    tokens: aaTokenProvider(aaRpc.lazy()),
    ...(offlineFiles ? { offlineFiles } : {}),
  });
  const hub = new ConfidentialDataHub({
    kbc,
    skipSealedSecretVerification: false,
    logger: nullLogger,
  });
  const cdhRpc = memoryTtrpc((s) => registerConfidentialDataHub(s, hub));
  const client = createClient(cdhRpc.client(), cdh.GetResourceService);
  return {
    client,
    kbc,
    cdhRpc,
    async [Symbol.asyncDispose]() {
      await cdhRpc[Symbol.asyncDispose]();
      hub.close();
      await aaRpc[Symbol.asyncDispose]();
      await agent.close();
    },
  };
}

Deno.test("GetResource fetches through the AA's token and reuses it", async () => {
  await using kbs = await startFakeKbs({
    "default/key/1": "secret-1",
    "default/key/2": "secret-2",
  });
  await using s = await stack(kbs);
  assert.equal(
    text((await s.client.getResource({ ResourcePath: "kbs:///default/key/1" })).Resource),
    "secret-1",
  );
  assert.equal(
    text((await s.client.getResource({ ResourcePath: "kbs://any-host:1/default/key/2" })).Resource),
    "secret-2",
  );
  assert.equal(kbs.attestations, 1);
  assert.equal((s.kbc as PassportKbc).tokensFetched, 1);
});

Deno.test("GetResource asks the AA for a fresh token once on 401", async () => {
  await using kbs = await startFakeKbs({ "default/key/1": "v" });
  await using s = await stack(kbs);
  await s.client.getResource({ ResourcePath: "kbs:///default/key/1" });
  kbs.revokeTokens();
  assert.equal(
    text((await s.client.getResource({ ResourcePath: "kbs:///default/key/1" })).Resource),
    "v",
  );
  assert.equal((s.kbc as PassportKbc).tokensFetched, 2);
  assert.equal(kbs.attestations, 2); // the refresh metadata made the AA re-attest
  assert.equal(kbs.resourceRequests, 3);
});

Deno.test("GetResource gives up after one retry when the KBS keeps answering 401", async () => {
  await using kbs = await startFakeKbs({ "default/key/1": "v" });
  await using s = await stack(kbs);
  kbs.denyAll = true;
  await assert.rejects(
    s.client.getResource({ ResourcePath: "kbs:///default/key/1" }),
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "INTERNAL" &&
      /^\[CDH\] \[ERROR\]: Cannot get resource kbs:\/\/\/default\/key\/1: .*HTTP 401/.test(
        e.message,
      ),
  );
  assert.equal(kbs.resourceRequests, 2);
  assert.equal((s.kbc as PassportKbc).tokensFetched, 2);
});

Deno.test("GetResource errors are INTERNAL `[CDH] [ERROR]:` naming the URI", async () => {
  await using kbs = await startFakeKbs();
  await using s = await stack(kbs);
  const cases: Array<[string, RegExp]> = [
    [
      "kbs:///default/key/missing",
      /^\[CDH\] \[ERROR\]: Cannot get resource kbs:\/\/\/default\/key\/missing: .*HTTP 404/,
    ],
    [
      "http://example.com/a/b/c",
      /^\[CDH\] \[ERROR\]: Cannot get resource http:\/\/example\.com\/a\/b\/c: Cannot parse resource URI/,
    ],
    ["kbs:///a/../b", /Cannot get resource kbs:\/\/\/a\/\.\.\/b/],
    ["", /Cannot get resource : Cannot parse/],
  ];
  for (const [uri, re] of cases) {
    await assert.rejects(
      s.client.getResource({ ResourcePath: uri }),
      (e: unknown) => e instanceof TtrpcError && e.code === "INTERNAL" && re.test(e.message),
    );
  }
});

Deno.test("GetResource with cc_kbc names an unreachable AA", async () => {
  const hub = new ConfidentialDataHub({
    kbc: createKbc({ name: "cc_kbc", url: "http://127.0.0.1:1" }, {
      tokens: {
        getToken: () => Promise.reject(new Error("Cannot connect to AA at unix:///nope.sock")),
      },
    }),
    skipSealedSecretVerification: false,
    logger: nullLogger,
  });
  await assert.rejects(
    hub.getResource("kbs:///a/b/c"),
    /Cannot get resource kbs:\/\/\/a\/b\/c: Cannot get a KBS token: Cannot connect to AA/,
  );
});

Deno.test("offline_fs_kbc reads maps, ignores missing files, later files win", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/a.json`,
      JSON.stringify({ "default/key/1": btoa("one"), "x/y/z": btoa("old") }),
    );
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify({ "x/y/z": btoa("new") }));
    await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
    await using kbs = await startFakeKbs();
    {
      await using s = await stack(kbs, { name: "offline_fs_kbc" }, [
        `${dir}/a.json`,
        `${dir}/missing.json`,
        `${dir}/b.json`,
      ]);
      assert.equal(
        text((await s.client.getResource({ ResourcePath: "kbs:///default/key/1" })).Resource),
        "one",
      );
      assert.equal(
        text((await s.client.getResource({ ResourcePath: "kbs:///x/y/z" })).Resource),
        "new",
      );
      await assert.rejects(
        s.client.getResource({ ResourcePath: "kbs:///no/such/key" }),
        /resource no\/such\/key not found/,
      );
    }
    await using s = await stack(kbs, { name: "offline_fs_kbc" }, [`${dir}/bad.json`]);
    await assert.rejects(
      s.client.getResource({ ResourcePath: "kbs:///x/y/z" }),
      /Cannot load offline KBC file .*bad\.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SecureMount answers UNIMPLEMENTED; PullImage refuses a request without bundle_path", async () => {
  await using kbs = await startFakeKbs();
  await using s = await stack(kbs);
  const c = s.cdhRpc.client();
  await assert.rejects(
    createClient(c, cdh.SecureMountService).secureMount({ volumeType: "block-device" }),
    (e: unknown) => e instanceof TtrpcError && e.code === "UNIMPLEMENTED",
  );
  await assert.rejects(
    createClient(c, cdh.ImagePullService).pullImage({ imageUrl: "busybox" }),
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "INTERNAL" &&
      /\[CDH\] \[ERROR\]: Cannot pull image busybox into : bundle_path `` must be an absolute/
        .test(e.message),
  );
});
