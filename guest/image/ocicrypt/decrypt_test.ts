import assert from "node:assert/strict";
import {
  ANNOTATION_JWE,
  ANNOTATION_PUBOPTS,
  attestationAgentUnwrapper,
  decryptLayer,
  encryptLayer,
  type LayerDescriptor,
  loadLayerKeys,
  OcicryptError,
  parsePrivateKey,
  wrapAnnotationPacket,
} from "./mod.ts";
import { chunked, collect, gzip, keyPair, pseudoRandom, sha256 } from "./_testing.ts";

const rsa = keyPair("rsa");
const ec = keyPair("ec");
const ec521 = keyPair("ec", "P-521");
const enc = new TextEncoder();

async function encrypted(plain: Uint8Array, jwks: JsonWebKey[]) {
  const desc: LayerDescriptor = {
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: sha256(plain),
    size: plain.length,
  };
  const e = encryptLayer(chunked(plain), desc, { jwe: jwks.map((jwk) => ({ jwk })) });
  const cipher = await collect(e.stream);
  return { cipher, desc: await e.descriptor };
}

const keysOf = (...pems: string[]) => ({
  privateKeys: pems.map((p, i) => parsePrivateKey(enc.encode(p), `key${i}`)),
});

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof OcicryptError, `expected OcicryptError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

Deno.test("decryptLayer() round-trips encryptLayer() for RSA, P-256 and P-521 recipients", async () => {
  const plain = await gzip(pseudoRandom(3 * (1 << 20) + 12_345));
  for (const k of [rsa, ec, ec521]) {
    const { cipher, desc } = await encrypted(plain, [k.publicJwk]);
    assert.equal(desc.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip+encrypted");
    assert.equal(desc.size, plain.length);
    assert.equal(desc.digest, sha256(cipher));
    assert.notEqual(sha256(cipher), sha256(plain));
    const out = await collect(
      await decryptLayer(chunked(cipher, 65_537), desc, keysOf(k.privatePem)),
    );
    assert.equal(sha256(out), sha256(plain));
  }
});

Deno.test("decryptLayer() finds the right key among several recipients and keys", async () => {
  const plain = pseudoRandom(100_000);
  const { cipher, desc } = await encrypted(plain, [rsa.publicJwk, ec.publicJwk]);
  const jwe = JSON.parse(
    new TextDecoder().decode(Uint8Array.fromBase64(desc.annotations![ANNOTATION_JWE]!)),
  );
  assert.equal(jwe.recipients.length, 2);
  const other = keyPair("ec");
  const out = await collect(
    await decryptLayer(chunked(cipher), desc, keysOf(other.privatePem, ec.privatePem)),
  );
  assert.equal(sha256(out), sha256(plain));
});

Deno.test("decryptLayer() refuses a wrong key before reading any byte", async () => {
  const { cipher, desc } = await encrypted(pseudoRandom(1000), [rsa.publicJwk]);
  await rejects(decryptLayer(chunked(cipher), desc, keysOf(keyPair("rsa").privatePem)), "no-key");
  await rejects(decryptLayer(chunked(cipher), desc, keysOf(ec.privatePem)), "no-key");
  await rejects(decryptLayer(chunked(cipher), desc, {}), "no-key");
});

Deno.test("decryptLayer() stream errors with bad-hmac on tampered or truncated ciphertext", async () => {
  const plain = pseudoRandom(2 * (1 << 20) + 3);
  const { cipher, desc } = await encrypted(plain, [ec.publicJwk]);
  const flipped = cipher.slice();
  flipped[1_500_000]! ^= 1;
  await rejects(
    collect(await decryptLayer(chunked(flipped), desc, keysOf(ec.privatePem))),
    "bad-hmac",
  );
  const truncated = cipher.slice(0, cipher.length - 1);
  await rejects(
    collect(await decryptLayer(chunked(truncated), desc, keysOf(ec.privatePem))),
    "bad-hmac",
  );
  const extended = new Uint8Array([...cipher, 0]);
  await rejects(
    collect(await decryptLayer(chunked(extended), desc, keysOf(ec.privatePem))),
    "bad-hmac",
  );
});

Deno.test("decryptLayer() errors with bad-hmac when the public HMAC is replaced", async () => {
  const { cipher, desc } = await encrypted(pseudoRandom(5000), [ec.publicJwk]);
  const pub = JSON.parse(
    new TextDecoder().decode(Uint8Array.fromBase64(desc.annotations![ANNOTATION_PUBOPTS]!)),
  );
  pub.hmac = new Uint8Array(32).toBase64();
  const bad = {
    ...desc,
    annotations: {
      ...desc.annotations,
      [ANNOTATION_PUBOPTS]: enc.encode(JSON.stringify(pub)).toBase64(),
    },
  };
  await rejects(
    collect(await decryptLayer(chunked(cipher), bad, keysOf(ec.privatePem))),
    "bad-hmac",
  );
});

Deno.test("decryptLayer() rejects malformed descriptors with clear codes", async () => {
  const { cipher, desc } = await encrypted(pseudoRandom(100), [ec.publicJwk]);
  const keys = keysOf(ec.privatePem);
  const with_ = (a: Record<string, string>, mediaType = desc.mediaType) => ({
    ...desc,
    mediaType,
    annotations: { ...desc.annotations, ...a },
  });
  await rejects(
    decryptLayer(chunked(cipher), with_({}, "application/vnd.oci.image.layer.v1.tar"), keys),
    "not-encrypted",
  );
  const noPub = { ...desc, annotations: { [ANNOTATION_JWE]: desc.annotations![ANNOTATION_JWE]! } };
  await rejects(decryptLayer(chunked(cipher), noPub, keys), "bad-annotation");
  const otherCipher = enc.encode(JSON.stringify({ cipher: "AES_128_GCM", hmac: "" })).toBase64();
  await rejects(
    decryptLayer(chunked(cipher), with_({ [ANNOTATION_PUBOPTS]: otherCipher }), keys),
    "unsupported-cipher",
  );
  await rejects(
    decryptLayer(chunked(cipher), with_({ [ANNOTATION_PUBOPTS]: "%%%" }), keys),
    "bad-annotation",
  );
  await rejects(
    decryptLayer(chunked(cipher), with_({ [ANNOTATION_JWE]: enc.encode("{}").toBase64() }), keys),
    "bad-annotation",
  );
});

Deno.test("attestation-agent provider: the KEK from the KBS unwraps; a wrong KEK or unknown kid fails", async () => {
  const kek = crypto.getRandomValues(new Uint8Array(32));
  const kid = "kbs:///default/key/key_id1";
  const plain = await gzip(pseudoRandom(300_000));
  const e = encryptLayer(chunked(plain), {
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: sha256(plain),
    size: plain.length,
  }, {
    providers: [{ name: "attestation-agent", wrap: (o) => wrapAnnotationPacket(o, kek, kid) }],
  });
  const cipher = await collect(e.stream);
  const desc = await e.descriptor;
  const asked: string[] = [];
  const getResource = (uri: string) => {
    asked.push(uri);
    if (uri !== kid) return Promise.reject(new Error(`no resource ${uri}`));
    return Promise.resolve(kek);
  };
  const keys = { keyProviders: { "attestation-agent": attestationAgentUnwrapper(getResource) } };
  assert.equal(
    sha256(await collect(await decryptLayer(chunked(cipher), desc, keys))),
    sha256(plain),
  );
  assert.deepEqual(asked, [kid]);
  const wrong = {
    keyProviders: {
      "attestation-agent": attestationAgentUnwrapper(() => Promise.resolve(new Uint8Array(32))),
    },
  };
  await rejects(decryptLayer(chunked(cipher), desc, wrong), "no-key");
  await rejects(decryptLayer(chunked(cipher), desc, {}), "no-key");
});

Deno.test("loadLayerKeys() reads files with passwords, kbs:/// keys and selects providers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { privateKey } = await import("node:crypto").then((c) =>
      c.generateKeyPairSync("rsa", { modulusLength: 2048 })
    );
    const encPem = privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "s3cret",
    }) as string;
    await Deno.writeTextFile(`${dir}/enc.pem`, encPem);
    await Deno.writeTextFile(`${dir}/pw`, "s3cret\n");
    await Deno.writeTextFile(`${dir}/ec.jwk`, JSON.stringify(privateKeyJwk(ec.privatePem)));
    const keys = await loadLayerKeys([
      `${dir}/enc.pem:s3cret`,
      `${dir}/enc.pem:pass=s3cret`,
      `${dir}/enc.pem:file=${dir}/pw`,
      `${dir}/ec.jwk`,
      "kbs:///default/key/jwe",
      "provider:attestation-agent",
    ], {
      getResource: () => Promise.resolve(enc.encode(rsa.privatePem)),
      providers: { "attestation-agent": () => Promise.resolve(new Uint8Array()) },
    });
    assert.deepEqual(keys.privateKeys?.map((k) => k.kty), ["RSA", "RSA", "RSA", "EC", "RSA"]);
    assert.deepEqual(Object.keys(keys.keyProviders ?? {}), ["attestation-agent"]);
    await rejects(loadLayerKeys([`${dir}/enc.pem`]), "bad-key");
    await rejects(loadLayerKeys([`${dir}/enc.pem:wrong`]), "bad-key");
    await rejects(loadLayerKeys([`${dir}/missing.pem`]), "bad-key");
    await rejects(loadLayerKeys(["provider:nope"]), "bad-config");
    await rejects(loadLayerKeys(["kbs:///default/key/jwe"]), "bad-config");
    await Deno.writeTextFile(`${dir}/junk`, "not a key");
    await rejects(loadLayerKeys([`${dir}/junk`]), "bad-key");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function privateKeyJwk(pem: string): JsonWebKey {
  return parsePrivateKey(enc.encode(pem), "pem").jwk;
}
