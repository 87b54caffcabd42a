import assert from "node:assert/strict";
import { parseReference } from "@coco/lib/oci";
import {
  checkImagePolicy,
  COSIGN_TYPE,
  encodeSignedPayload,
  parseCosignKey,
  parsePolicy,
  resourceLoader,
  SignatureError,
} from "./mod.ts";
import { cosignKeyPair, cosignSign, MemoryRegistry } from "./_testing.ts";

const DIGEST = `sha256:${"56".repeat(32)}`;
const INDEX = `sha256:${"78".repeat(32)}`;
const REPO = "registry.example:5000/team/app";
const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof SignatureError, String(e));
  assert.equal(e.code, code, e.message);
  assert.equal(e.requirement, "sigstoreSigned");
  return true;
};
const payload = (repo = REPO, digest = DIGEST) => encodeSignedPayload(repo, digest, COSIGN_TYPE);

function deps(publicPem: string, registry: MemoryRegistry, extra: Record<string, unknown> = {}) {
  return {
    policy: parsePolicy(JSON.stringify({
      default: [{ type: "reject" }],
      transports: {
        docker: {
          [REPO]: [{ type: "sigstoreSigned", keyData: publicPem, ...extra }],
        },
      },
    })),
    loadResource: resourceLoader(),
    registry,
  };
}
const input = (ref = `${REPO}:v1`, indexDigest?: string) => ({
  reference: parseReference(ref),
  manifestDigest: DIGEST,
  ...(indexDigest ? { indexDigest } : {}),
});

Deno.test("sigstoreSigned accepts a cosign signature made in Deno (P-256, DER)", async () => {
  const key = cosignKeyPair();
  const registry = new MemoryRegistry();
  const ref = parseReference(REPO);
  registry.putCosign(ref, DIGEST, [{
    payload: payload(),
    sig: cosignSign(payload(), key.privateKey),
  }]);
  assert.deepEqual(await checkImagePolicy(input(), deps(key.publicPem, registry)), {
    scope: REPO,
    requirements: ["sigstoreSigned"],
    signed: true,
  });
  // keyData as base64 of the PEM (containers' form) works too.
  assert.equal(
    (await checkImagePolicy(input(), deps(btoa(key.publicPem), registry))).signed,
    true,
  );
});

Deno.test("sigstoreSigned uses the index digest's .sig for multi-arch images", async () => {
  const key = cosignKeyPair();
  const registry = new MemoryRegistry();
  const p = payload(REPO, INDEX);
  registry.putCosign(parseReference(REPO), INDEX, [{
    payload: p,
    sig: cosignSign(p, key.privateKey),
  }]);
  assert.equal(
    (await checkImagePolicy(input(`${REPO}:v1`, INDEX), deps(key.publicPem, registry))).signed,
    true,
  );
  await assert.rejects(
    checkImagePolicy(input(), deps(key.publicPem, registry)),
    isCode("no-signature"),
  );
});

Deno.test("sigstoreSigned refuses tampered payloads, wrong keys, identities and digests", async () => {
  const key = cosignKeyPair();
  const other = cosignKeyPair();
  const ref = parseReference(REPO);
  const tampered = payload();
  const goodSig = cosignSign(tampered, key.privateKey);
  const flipped = tampered.slice();
  flipped[10]! ^= 1;
  const p1363 = new Uint8Array(64).fill(1);
  const cases: [{ payload: Uint8Array; sig: Uint8Array }, string][] = [
    [{ payload: flipped, sig: goodSig }, "invalid-signature"],
    [{ payload: payload(), sig: cosignSign(payload(), other.privateKey) }, "invalid-signature"],
    [{ payload: payload(), sig: p1363 }, "invalid-signature"],
    [{
      payload: payload("registry.example:5000/team/evil"),
      sig: cosignSign(payload("registry.example:5000/team/evil"), key.privateKey),
    }, "identity-mismatch"],
    [
      { payload: payload(REPO, INDEX), sig: cosignSign(payload(REPO, INDEX), key.privateKey) },
      "digest-mismatch",
    ],
    [{
      payload: encodeSignedPayload(REPO, DIGEST, "atomic container signature"),
      sig: cosignSign(
        encodeSignedPayload(REPO, DIGEST, "atomic container signature"),
        key.privateKey,
      ),
    }, "invalid-signature"],
  ];
  for (const [layer, code] of cases) {
    const registry = new MemoryRegistry();
    registry.putCosign(ref, DIGEST, [layer]);
    await assert.rejects(checkImagePolicy(input(), deps(key.publicPem, registry)), isCode(code));
  }
  await assert.rejects(
    checkImagePolicy(input(), deps(key.publicPem, new MemoryRegistry())),
    isCode("no-signature"),
  );
  // exactRepository pointing elsewhere refuses a correct signature.
  const registry = new MemoryRegistry();
  registry.putCosign(ref, DIGEST, [{
    payload: payload(),
    sig: cosignSign(payload(), key.privateKey),
  }]);
  await assert.rejects(
    checkImagePolicy(
      input(),
      deps(key.publicPem, registry, {
        signedIdentity: { type: "exactRepository", dockerRepository: "quay.io/x/y" },
      }),
    ),
    isCode("identity-mismatch"),
  );
  const { registry: _r, ...noRegistry } = deps(key.publicPem, registry);
  await assert.rejects(checkImagePolicy(input(), noRegistry), isCode("unavailable"));
  await assert.rejects(
    checkImagePolicy(input(), deps("not a key", registry)),
    isCode("invalid-key"),
  );
});

Deno.test("parseCosignKey() accepts P-384 PEM keys and rejects malformed ones", () => {
  const enc = new TextEncoder();
  assert.equal(
    parseCosignKey(enc.encode(cosignKeyPair("P-384").publicPem), "k").key.asymmetricKeyType,
    "ec",
  );
  assert.throws(
    () =>
      parseCosignKey(enc.encode("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), "k"),
    (e) => e instanceof SignatureError && e.code === "invalid-key",
  );
});
