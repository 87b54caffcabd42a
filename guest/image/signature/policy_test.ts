import assert from "node:assert/strict";
import { parseReference } from "@coco/lib/oci";
import {
  checkImagePolicy,
  dockerScopes,
  identityMatches,
  parseClaimedReference,
  parsePolicy,
  parseSignedIdentity,
  resourceLoader,
  SignatureError,
} from "./mod.ts";

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof SignatureError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};
const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("parsePolicy() reads every requirement shape of spec §6.1", () => {
  const p = parsePolicy(JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: {
        "quay.io/kata-containers/confidential-containers": [
          { type: "signedBy", keyType: "GPGKeys", keyPath: "kbs:///default/gpg-public-key/test" },
        ],
        "ghcr.io/confidential-containers/test-container-image-rs:cosign-signed": [
          { type: "sigstoreSigned", keyPath: "kbs:///default/cosign-public-key/test" },
        ],
        "example.com/playground": [{ type: "insecureAcceptAnything" }],
        "*.example.org": [{
          type: "signedBy",
          keyType: "GPGKeys",
          keyData: "AAAA",
          signedIdentity: {
            type: "remapIdentity",
            prefix: "a.example.org",
            signedPrefix: "b.io/x",
          },
        }],
      },
    },
  }));
  assert.deepEqual(p.default, [{ type: "reject" }]);
  const docker = p.transports["docker"]!;
  assert.deepEqual(docker["quay.io/kata-containers/confidential-containers"], [{
    type: "signedBy",
    keys: { kind: "paths", paths: ["kbs:///default/gpg-public-key/test"] },
    signedIdentity: { type: "matchRepoDigestOrExact" },
  }]);
  const cosign = docker["ghcr.io/confidential-containers/test-container-image-rs:cosign-signed"]!;
  assert.deepEqual(cosign[0], {
    type: "sigstoreSigned",
    keys: { kind: "paths", paths: ["kbs:///default/cosign-public-key/test"] },
    signedIdentity: { type: "matchRepository" },
  });
});

Deno.test("parsePolicy() rejects hostile or unknown shapes naming the path", () => {
  const cases: [unknown, RegExp][] = [
    [{ default: [{ type: "signedByMagic" }] }, /default\[0\]\.type: unknown requirement type/],
    [{ default: [{ type: "reject", extra: 1 }] }, /unknown field "extra"/],
    [{ default: [] }, /empty requirement list/],
    [{ transports: {} }, /default: is required/],
    [{ default: [{ type: "signedBy", keyType: "X509", keyPath: "/k" }] }, /keyType/],
    [{ default: [{ type: "signedBy", keyType: "GPGKeys" }] }, /exactly one of keyPath/],
    [
      { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", keyData: "b" }] },
      /exactly one/,
    ],
    [{ default: [{ type: "sigstoreSigned", fulcio: {} }] }, /keyless/],
    [{
      default: [{
        type: "signedBy",
        keyType: "GPGKeys",
        keyPath: "/k",
        signedIdentity: { type: "matchAll" },
      }],
    }, /unknown type/],
    [{
      default: [{
        type: "signedBy",
        keyType: "GPGKeys",
        keyPath: "/k",
        signedIdentity: { type: "exactReference", dockerReference: "quay.io/a" },
      }],
    }, /tag or digest/],
    [{
      default: [{ type: "reject" }],
      transports: { docker: { "Bad Scope!": [{ type: "reject" }] } },
    }, /not a reference/],
    [{ default: [{ type: "reject" }], unknown: 1 }, /unknown field "unknown"/],
  ];
  for (const [doc, re] of cases) {
    assert.throws(() => parsePolicy(JSON.stringify(doc)), (e: unknown) => {
      isCode("invalid-policy")(e);
      assert.match((e as Error).message, re);
      return true;
    });
  }
  assert.throws(() => parsePolicy("{"), isCode("invalid-policy"));
});

Deno.test("dockerScopes() lists reference, repository, namespaces, host and wildcards", () => {
  assert.deepEqual(dockerScopes(parseReference("a.b.example.com:5000/ns/sub/img:v1")), [
    "a.b.example.com:5000/ns/sub/img:v1",
    "a.b.example.com:5000/ns/sub/img",
    "a.b.example.com:5000/ns/sub",
    "a.b.example.com:5000/ns",
    "a.b.example.com:5000",
    "*.b.example.com",
    "*.example.com",
    "*.com",
  ]);
  assert.equal(
    dockerScopes(parseReference(`busybox@${DIGEST}`))[0],
    `docker.io/library/busybox@${DIGEST}`,
  );
});

Deno.test("checkImagePolicy() takes the most specific scope, then the transport default, then default", async () => {
  const policy = parsePolicy(JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: {
        "example.com/ns": [{ type: "insecureAcceptAnything" }],
        "example.com/ns/blocked": [{ type: "reject" }],
        "example.com/ns/blocked:allowed": [{ type: "insecureAcceptAnything" }],
        "*.trusted.io": [{ type: "insecureAcceptAnything" }],
      },
    },
  }));
  const deps = { policy, loadResource: resourceLoader() };
  const check = (ref: string) =>
    checkImagePolicy({ reference: parseReference(ref), manifestDigest: DIGEST }, deps);
  assert.deepEqual(await check("example.com/ns/app:1"), {
    scope: "example.com/ns",
    requirements: ["insecureAcceptAnything"],
    signed: false,
  });
  assert.equal(
    (await check("example.com/ns/blocked:allowed")).scope,
    "example.com/ns/blocked:allowed",
  );
  assert.equal((await check("r.trusted.io/x")).scope, "*.trusted.io");
  await assert.rejects(check("example.com/ns/blocked:other"), (e: unknown) => {
    isCode("rejected")(e);
    assert.equal((e as SignatureError).scope, "example.com/ns/blocked");
    assert.equal((e as SignatureError).requirement, "reject");
    return true;
  });
  await assert.rejects(check("example.com/other"), (e: unknown) => {
    isCode("rejected")(e);
    assert.equal((e as SignatureError).scope, "default");
    return true;
  });
  const withEmpty = parsePolicy(JSON.stringify({
    default: [{ type: "reject" }],
    transports: { docker: { "": [{ type: "insecureAcceptAnything" }] } },
  }));
  assert.equal(
    (await checkImagePolicy({ reference: parseReference("x.io/y"), manifestDigest: DIGEST }, {
      policy: withEmpty,
      loadResource: resourceLoader(),
    })).scope,
    "",
  );
});

Deno.test("identityMatches() follows the signedIdentity table of spec §6.2", () => {
  const r = parseReference;
  const s = parseClaimedReference;
  const id = (v: unknown) => parseSignedIdentity(v, "signedIdentity", "signedBy");
  const table: [unknown, string, string, boolean][] = [
    [{ type: "matchExact" }, "quay.io/a/b:1", "quay.io/a/b:1", true],
    [{ type: "matchExact" }, "quay.io/a/b:1", "quay.io/a/b:2", false],
    [{ type: "matchExact" }, `quay.io/a/b@${DIGEST}`, `quay.io/a/b@${DIGEST}`, false],
    [{ type: "matchRepoDigestOrExact" }, "quay.io/a/b:1", "quay.io/a/b:1", true],
    [{ type: "matchRepoDigestOrExact" }, "quay.io/a/b:1", "quay.io/a/b:2", false],
    [{ type: "matchRepoDigestOrExact" }, `quay.io/a/b@${DIGEST}`, "quay.io/a/b:any", true],
    [{ type: "matchRepoDigestOrExact" }, `quay.io/a/b@${DIGEST}`, "quay.io/a/c:any", false],
    [{ type: "matchRepoDigestOrExact" }, "busybox", "docker.io/library/busybox:latest", true],
    [{ type: "matchRepository" }, "quay.io/a/b:1", "quay.io/a/b", true],
    [{ type: "matchRepository" }, "quay.io/a/b:1", "quay.io/a/bb:1", false],
    [
      { type: "exactReference", dockerReference: "quay.io/x/y:2" },
      "quay.io/a/b:1",
      "quay.io/x/y:2",
      true,
    ],
    [
      { type: "exactReference", dockerReference: "quay.io/x/y:2" },
      "quay.io/a/b:1",
      "quay.io/a/b:1",
      false,
    ],
    [
      { type: "exactRepository", dockerRepository: "quay.io/x/y" },
      "quay.io/a/b:1",
      "quay.io/x/y:9",
      true,
    ],
    [
      { type: "exactRepository", dockerRepository: "quay.io/x/y" },
      "quay.io/a/b:1",
      "quay.io/x/z:9",
      false,
    ],
    [
      { type: "remapIdentity", prefix: "mirror.local/m", signedPrefix: "quay.io/orig" },
      "mirror.local/m/app:1",
      "quay.io/orig/app:1",
      true,
    ],
    [
      { type: "remapIdentity", prefix: "mirror.local/m", signedPrefix: "quay.io/orig" },
      "mirror.local/m/app:1",
      "mirror.local/m/app:1",
      false,
    ],
    [
      { type: "remapIdentity", prefix: "mirror.local/m", signedPrefix: "quay.io/orig" },
      "mirror.local/mm/app:1",
      "mirror.local/mm/app:1",
      true,
    ],
  ];
  for (const [rule, intended, signed, want] of table) {
    assert.equal(
      identityMatches(id(rule), r(intended), s(signed)),
      want,
      `${JSON.stringify(rule)} ${intended} vs ${signed}`,
    );
  }
});

Deno.test("resourceLoader() reads files and file:// URLs, kbs:// through the CDH, refuses others", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k`, "key");
    const asked: string[] = [];
    const load = resourceLoader({
      getResource: (u) => {
        asked.push(u);
        return Promise.resolve(new TextEncoder().encode("from-kbs"));
      },
    });
    assert.equal(new TextDecoder().decode(await load(`${dir}/k`)), "key");
    assert.equal(new TextDecoder().decode(await load(`file://${dir}/k`)), "key");
    assert.equal(
      new TextDecoder().decode(await load("kbs:///default/gpg-public-key/test")),
      "from-kbs",
    );
    assert.deepEqual(asked, ["kbs:///default/gpg-public-key/test"]);
    await assert.rejects(load("https://example.com/k"), isCode("unavailable"));
    await assert.rejects(load(`${dir}/missing`), isCode("unavailable"));
    await assert.rejects(resourceLoader()("kbs:///a/b/c"), isCode("unavailable"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
