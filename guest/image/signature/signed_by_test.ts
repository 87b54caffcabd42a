import assert from "node:assert/strict";
import { parseReference } from "@coco/lib/oci";
import { findPeers, skipUnless } from "../../../tests/peers.ts";
import {
  ATOMIC_TYPE,
  checkImagePolicy,
  encodeSignedPayload,
  lookasideUrl,
  parsePolicy,
  parseRegistriesD,
  resourceLoader,
  SignatureError,
} from "./mod.ts";
import { exec, gpgHome, MemoryRegistry, pgpKey, pgpSign } from "./_testing.ts";

const DIGEST = `sha256:${"12".repeat(32)}`;
const OTHER = `sha256:${"34".repeat(32)}`;
const REF = "registry.example:5000/team/app:v1";
const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof SignatureError, String(e));
  assert.equal(e.code, code, e.message);
  assert.equal(e.requirement, "signedBy");
  return true;
};

/** A lookaside dir, a keyring and a policy requiring signedBy for registry.example:5000/team. */
async function setup(dir: string, ring: Uint8Array, identity?: unknown) {
  await Deno.writeFile(`${dir}/ring.gpg`, ring);
  const policy = parsePolicy(JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: {
        "registry.example:5000/team": [{
          type: "signedBy",
          keyType: "GPGKeys",
          keyPath: "kbs:///default/gpg-public-key/test",
          ...(identity ? { signedIdentity: identity } : {}),
        }],
      },
    },
  }));
  const registriesD = parseRegistriesD([{
    name: "default.yaml",
    text: `default-docker:\n  lookaside: file://${dir}/lookaside\n`,
  }]);
  const loadResource = resourceLoader({
    getResource: (uri) => {
      assert.equal(uri, "kbs:///default/gpg-public-key/test");
      return Deno.readFile(`${dir}/ring.gpg`);
    },
  });
  return { policy, registriesD, loadResource };
}

async function putSig(dir: string, ref: string, digest: string, n: number, sig: Uint8Array) {
  const url = lookasideUrl(`file://${dir}/lookaside`, parseReference(ref), digest, n);
  await Deno.mkdir(new URL(".", url), { recursive: true });
  await Deno.writeFile(url, sig);
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sig-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const input = (ref = REF, manifestDigest = DIGEST) => ({
  reference: parseReference(ref),
  manifestDigest,
});

Deno.test("signedBy accepts a valid simple signature from a file:// lookaside and refuses bad ones", () =>
  withDir(async (dir) => {
    const signer = await pgpKey();
    const deps = await setup(dir, signer.publicRing);
    const good = await pgpSign(encodeSignedPayload(REF, DIGEST, ATOMIC_TYPE), signer.privateKey);
    await assert.rejects(checkImagePolicy(input(), deps), isCode("no-signature"));
    // A bad signature first, the good one second: one valid signature suffices.
    const flipped = good.slice();
    flipped[flipped.length - 5]! ^= 0x40;
    await putSig(dir, REF, DIGEST, 1, flipped);
    await assert.rejects(checkImagePolicy(input(), deps), isCode("invalid-signature"));
    await putSig(dir, REF, DIGEST, 2, good);
    assert.deepEqual(await checkImagePolicy(input(), deps), {
      scope: "registry.example:5000/team",
      requirements: ["signedBy"],
      signed: true,
    });
  }));

Deno.test("signedBy refuses wrong key, wrong identity, wrong digest and malformed payloads", () =>
  withDir(async (dir) => {
    const signer = await pgpKey();
    const stranger = await pgpKey("Stranger");
    const deps = await setup(dir, signer.publicRing);
    const sign = (p: Uint8Array, k = signer.privateKey) => pgpSign(p, k);
    const cases: [Uint8Array, string][] = [
      [
        await sign(encodeSignedPayload(REF, DIGEST, ATOMIC_TYPE), stranger.privateKey),
        "invalid-signature",
      ],
      [
        await sign(encodeSignedPayload("registry.example:5000/team/other:v1", DIGEST, ATOMIC_TYPE)),
        "identity-mismatch",
      ],
      [
        await sign(encodeSignedPayload("registry.example:5000/team/app:v2", DIGEST, ATOMIC_TYPE)),
        "identity-mismatch",
      ],
      [await sign(encodeSignedPayload(REF, OTHER, ATOMIC_TYPE)), "digest-mismatch"],
      [
        await sign(encodeSignedPayload(REF, DIGEST, "cosign container image signature")),
        "invalid-signature",
      ],
      [await sign(new TextEncoder().encode('{"critical":{}}')), "invalid-signature"],
      [await sign(new TextEncoder().encode("not json")), "invalid-signature"],
      [new TextEncoder().encode("garbage"), "invalid-signature"],
    ];
    for (const [sig, code] of cases) {
      await putSig(dir, REF, DIGEST, 1, sig);
      await assert.rejects(checkImagePolicy(input(), deps), isCode(code));
    }
    // A payload with an extra critical field is refused even though it verifies.
    const extra = JSON.parse(
      new TextDecoder().decode(encodeSignedPayload(REF, DIGEST, ATOMIC_TYPE)),
    );
    extra.critical.extra = 1;
    await putSig(dir, REF, DIGEST, 1, await sign(new TextEncoder().encode(JSON.stringify(extra))));
    await assert.rejects(checkImagePolicy(input(), deps), isCode("invalid-signature"));
  }));

Deno.test("signedBy with a digest reference accepts any tag of the repository (matchRepoDigestOrExact)", () =>
  withDir(async (dir) => {
    const signer = await pgpKey();
    const deps = await setup(dir, signer.publicRing);
    const byDigest = `registry.example:5000/team/app@${DIGEST}`;
    await putSig(
      dir,
      byDigest,
      DIGEST,
      1,
      await pgpSign(encodeSignedPayload(REF, DIGEST, ATOMIC_TYPE), signer.privateKey),
    );
    assert.equal((await checkImagePolicy(input(byDigest), deps)).signed, true);
    const exact = await setup(dir, signer.publicRing, { type: "matchExact" });
    await assert.rejects(checkImagePolicy(input(byDigest), exact), isCode("identity-mismatch"));
  }));

Deno.test("signedBy reads http lookaside stores and the registry signature extension", () =>
  withDir(async (dir) => {
    const signer = await pgpKey();
    const deps = await setup(dir, signer.publicRing);
    const sig = await pgpSign(encodeSignedPayload(REF, DIGEST, ATOMIC_TYPE), signer.privateKey);
    const seen: string[] = [];
    await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      seen.push(path);
      return path === `/sigs/team/app@sha256=${"12".repeat(32)}/signature-1`
        ? new Response(new Uint8Array(sig))
        : new Response("no", { status: 404 });
    });
    const registriesD = parseRegistriesD([{
      name: "d.yaml",
      text:
        `docker:\n  registry.example:5000/team:\n    lookaside: http://127.0.0.1:${server.addr.port}/sigs\n`,
    }]);
    assert.equal((await checkImagePolicy(input(), { ...deps, registriesD })).signed, true);
    assert.deepEqual(seen, [
      `/sigs/team/app@sha256=${"12".repeat(32)}/signature-1`,
      `/sigs/team/app@sha256=${"12".repeat(32)}/signature-2`,
    ]);
    const registry = new MemoryRegistry();
    registry.extension.set(`registry.example:5000/team/app@${DIGEST}`, [sig]);
    const { registriesD: _unused, ...noLookaside } = deps;
    assert.equal((await checkImagePolicy(input(), { ...noLookaside, registry })).signed, true);
    await assert.rejects(checkImagePolicy(input(), noLookaside), isCode("no-signature"));
  }));

Deno.test("parseRegistriesD() merges documents and rejects duplicates and bad URLs", async () => {
  const { parseRegistriesD, lookasideBase } = await import("./mod.ts");
  const cfg = parseRegistriesD([
    { name: "a.yaml", text: "default-docker:\n  sigstore: file:///var/lib/sigs\n" },
    {
      name: "b.yaml",
      text:
        "docker:\n  quay.io/ns:\n    lookaside: https://s.example/x\n    lookaside-staging: file:///tmp/w\n",
    },
  ]);
  assert.equal(lookasideBase(cfg, parseReference("quay.io/ns/app:1")), "https://s.example/x");
  assert.equal(lookasideBase(cfg, parseReference("quay.io/other:1")), "file:///var/lib/sigs");
  const bad = (docs: { name: string; text: string }[]) =>
    assert.throws(
      () => parseRegistriesD(docs),
      (e: unknown) => e instanceof SignatureError && e.code === "invalid-registries-d",
    );
  bad([{ name: "a", text: "default-docker: {lookaside: file:///a}" }, {
    name: "b",
    text: "default-docker: {lookaside: file:///b}",
  }]);
  bad([{ name: "a", text: "docker: {x.io: {lookaside: ftp://x}}" }]);
  bad([{ name: "a", text: "docker: {x.io: {unknown: 1}}" }]);
  bad([{ name: "a", text: "other: 1" }]);
  bad([{ name: "a", text: "docker: [" }]);
});

const peers = findPeers("gpg", "skopeo");
const realName = "signedBy verifies signatures made by real gpg + skopeo standalone-sign";
Deno.test({ name: realName, ...skipUnless(peers, realName) }, () =>
  withDir(async (dir) => {
    await using gpg = await gpgHome(peers.paths["gpg"]!, dir);
    const deps = await setup(dir, gpg.publicRing);
    const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, layers: [] }));
    await Deno.writeFile(`${dir}/manifest.json`, manifest);
    const digest = `sha256:${
      new Uint8Array(await crypto.subtle.digest("SHA-256", manifest)).toHex()
    }`;
    await exec(peers.paths["skopeo"]!, [
      "standalone-sign",
      "-o",
      `${dir}/sig`,
      `${dir}/manifest.json`,
      REF,
      gpg.fpr,
    ], gpg.env);
    await putSig(dir, REF, digest, 1, await Deno.readFile(`${dir}/sig`));
    assert.equal((await checkImagePolicy(input(REF, digest), deps)).signed, true);
    await assert.rejects(checkImagePolicy(input(REF, DIGEST), deps), isCode("no-signature"));
    await assert.rejects(
      checkImagePolicy(input("registry.example:5000/team/app:v2", digest), deps),
      (e) =>
        e instanceof SignatureError &&
        (e.code === "no-signature" || e.code === "identity-mismatch"),
    );
    const other = await pgpKey();
    const wrongKey = await setup(dir, other.publicRing);
    await assert.rejects(
      checkImagePolicy(input(REF, digest), wrongKey),
      isCode("invalid-signature"),
    );
    const sig = await Deno.readFile(`${dir}/sig`);
    sig[sig.length - 10]! ^= 1;
    await putSig(dir, REF, digest, 1, sig);
    await assert.rejects(checkImagePolicy(input(REF, digest), deps), isCode("invalid-signature"));
  }));
