import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import { cdh } from "@coco/lib/proto";
import { createClient, TtrpcError } from "@coco/lib/ttrpc";
import { seal, sealingKey, vaultPayload } from "../_testing/sealed.ts";
import { memoryTtrpc } from "../_testing/ttrpc.ts";
import { ConfidentialDataHub, type Kbc, registerConfidentialDataHub } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function mapKbc(entries: Record<string, string>): Kbc {
  return {
    getResource: (uri) => {
      const v = entries[uri.path.join("/")];
      return v === undefined
        ? Promise.reject(new Error("resource not found"))
        : Promise.resolve(enc.encode(v));
    },
    close() {},
  };
}

function fixture(
  entries: Record<string, string>,
  opts: { skip?: boolean; keyDir?: string } = {},
) {
  const hub = new ConfidentialDataHub({
    kbc: mapKbc(entries),
    skipSealedSecretVerification: opts.skip ?? false,
    logger: nullLogger,
    ...(opts.keyDir ? { sealedSecretKeyDir: opts.keyDir } : {}),
  });
  const rpc = memoryTtrpc((s) => registerConfidentialDataHub(s, hub));
  const client = createClient(rpc.client(), cdh.SealedSecretService);
  return {
    unseal: async (secret: string) =>
      dec.decode((await client.unsealSecret({ secret: enc.encode(secret) })).plaintext),
    [Symbol.asyncDispose]: () => rpc[Symbol.asyncDispose](),
  };
}

const rejectsCdh = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(
    p,
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "INTERNAL" && /^\[CDH\] \[ERROR\]: /.test(e.message) &&
      re.test(e.message),
  );

Deno.test("UnsealSecret verifies ES256 with a kbs:// kid and returns the vault resource", async () => {
  const key = await sealingKey();
  const kid = "kbs:///default/sealing-key/1";
  await using f = await fixture({
    "default/sealing-key/1": key.publicJwk,
    "default/db/password": "hunter2",
  });
  const secret = await seal(vaultPayload("kbs:///default/db/password"), key.privateKey, kid);
  assert.doesNotMatch(secret, /=/);
  assert.equal(await f.unseal(secret), "hunter2");
  assert.equal(
    await f.unseal(
      await seal(vaultPayload("kbs:///default/db/password", "KBS"), key.privateKey, kid),
    ),
    "hunter2",
  );
});

Deno.test("UnsealSecret reads a file kid under the sealed-secret dir and confines it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = await sealingKey();
    await Deno.mkdir(`${dir}/keys`);
    await Deno.writeTextFile(`${dir}/keys/k1`, key.publicJwk);
    await Deno.writeTextFile(`${dir}/outside`, key.publicJwk);
    await using f = await fixture({ "a/b/c": "ok" }, { keyDir: `${dir}/keys` });
    assert.equal(
      await f.unseal(await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, "k1")),
      "ok",
    );
    await rejectsCdh(
      f.unseal(await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, "../outside")),
      /kid `\.\.\/outside` escapes/,
    );
    await rejectsCdh(
      f.unseal(await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, "nope")),
      /key file for kid `nope` not found/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UnsealSecret rejects malformed, tampered and unsupported secrets", async () => {
  const key = await sealingKey();
  const other = await sealingKey();
  const kid = "kbs:///default/sealing-key/1";
  await using f = await fixture({ "default/sealing-key/1": key.publicJwk, "a/b/c": "v" });
  const good = await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, kid);
  const [, h, p, s] = good.split(".") as [string, string, string, string];
  const tamperedPayload = `sealed.${h}.${
    enc.encode(JSON.stringify(vaultPayload("kbs:///x/y/z"))).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    })
  }.${s}`;
  const cases: Array<[string, RegExp]> = [
    [good.slice("sealed.".length), /does not start with `sealed\.`/],
    ["sealed.only.two", /expected sealed\.<header>\.<payload>\.<signature>/],
    [`sealed.${h}.${p}.${s}.extra`, /expected sealed\./],
    [`sealed.${h}.${p}.AAAA`, /signature does not verify/],
    [tamperedPayload, /signature does not verify/],
    [
      await seal(vaultPayload("kbs:///a/b/c"), other.privateKey, kid),
      /signature does not verify with key/,
    ],
    [`sealed.${h}.${p}.!!!`, /signature is not unpadded base64url/],
    [
      await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, kid, { alg: "HS256", kid }),
      /alg "HS256" is not ES256/,
    ],
    [await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, kid, { alg: "ES256" }), /no kid/],
    [
      await seal({ ...vaultPayload("kbs:///a/b/c"), type: "magic" }, key.privateKey, kid),
      /type `magic` is not vault or envelope/,
    ],
    [
      await seal({ ...vaultPayload("kbs:///a/b/c"), version: "0.2.0" }, key.privateKey, kid),
      /version "0\.2\.0"/,
    ],
    [
      await seal(
        { version: "0.1.0", type: "envelope", provider: "aliyun", key_id: "k" },
        key.privateKey,
        kid,
      ),
      /envelope secret provider `aliyun` is not supported/,
    ],
    [
      await seal(vaultPayload("name", "aws"), key.privateKey, kid),
      /vault secret provider `aws` is not supported/,
    ],
    [
      await seal(vaultPayload("kbs:///no/such/thing"), key.privateKey, kid),
      /Cannot get resource kbs:\/\/\/no\/such\/thing/,
    ],
    [
      await seal(vaultPayload("kbs:///a/b/c"), key.privateKey, "kbs:///missing/key/1"),
      /Cannot get resource kbs:\/\/\/missing\/key\/1/,
    ],
  ];
  for (const [secret, re] of cases) await rejectsCdh(f.unseal(secret), re);
});

Deno.test("UnsealSecret with skip_sealed_secret_verification takes the legacy fake-header form", async () => {
  await using f = await fixture({ "a/b/c": "plain" }, { skip: true });
  const payload = enc.encode(JSON.stringify(vaultPayload("kbs:///a/b/c"))).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
  assert.equal(await f.unseal(`sealed.fakejwsheader.${payload}.fakesignature`), "plain");
  await rejectsCdh(f.unseal(`sealed.${payload}.sig`), /expected sealed\./);
});
