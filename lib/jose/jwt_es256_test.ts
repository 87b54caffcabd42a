import assert from "node:assert/strict";
import * as jose from "jose";
import { libcrypto } from "./_libcrypto.ts";
import { JwtVerifyError, verifyEs256Jwt } from "./jwt_es256.ts";

const ignore = libcrypto() === undefined;
if (ignore) console.log("SKIPPED ES256 via libcrypto: libcrypto.so.3 cannot be loaded here");

const NOW = 1_800_000_000_000;
const enc = new TextEncoder();

async function sign(payload: unknown, header: Record<string, unknown> = {}, key?: CryptoKey) {
  const k = key ?? pair.privateKey;
  return await new jose.CompactSign(enc.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES256", ...header })
    .sign(k);
}
const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const other = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);

async function viaJose(token: string): Promise<string> {
  try {
    await jose.jwtVerify(token, pair.publicKey, {
      algorithms: ["ES256"],
      clockTolerance: 60,
      currentDate: new Date(NOW),
      requiredClaims: ["exp"],
    });
    return "ok";
  } catch (err) {
    return (err as Error).message;
  }
}

function viaNative(token: string): string {
  try {
    const header = jose.decodeProtectedHeader(token) as Record<string, unknown>;
    const r = verifyEs256Jwt(token, header, jwk, { now: NOW, clockTolerance: 60 });
    return r === undefined ? "not applicable" : "ok";
  } catch (err) {
    assert.ok(err instanceof JwtVerifyError, String(err));
    return err.message;
  }
}

Deno.test({
  name: "verifyEs256Jwt() accepts and refuses exactly what jose.jwtVerify does",
  ignore,
  async fn() {
    const s = NOW / 1000;
    const tokens: Record<string, string> = {
      valid: await sign({ exp: s + 100, iat: s, sub: "x" }),
      "exp just inside the tolerance": await sign({ exp: s - 59 }),
      "exp at the tolerance": await sign({ exp: s - 60 }),
      expired: await sign({ exp: s - 61 }),
      "nbf at the tolerance": await sign({ exp: s + 100, nbf: s + 60 }),
      "nbf in the future": await sign({ exp: s + 100, nbf: s + 61 }),
      "iat a string": await sign({ exp: s + 100, iat: "now" }),
      "exp a string": await sign({ exp: String(s + 100) }),
      "exp null": await sign({ exp: null }),
      "no exp": await sign({ iat: s }),
      "array payload": await sign([1, 2]),
      "other key": await sign({ exp: s + 100 }, {}, other.privateKey),
    };
    const valid = tokens.valid!;
    const [h, p, sig] = valid.split(".");
    tokens["tampered payload"] = `${h}.${
      enc.encode(JSON.stringify({ exp: s + 9999 })).toBase64({
        alphabet: "base64url",
        omitPadding: true,
      })
    }.${sig}`;
    tokens["tampered signature"] = `${h}.${p}.${sig!.slice(0, -2)}AA`;
    tokens["short signature"] = `${h}.${p}.${sig!.slice(0, 20)}`;
    for (const [what, token] of Object.entries(tokens)) {
      const a = await viaJose(token);
      const b = viaNative(token);
      assert.equal(b === "ok", a === "ok", `${what}: jose says ${a}, native says ${b}`);
      if (a !== "ok") assert.equal(b, a, `${what}: same reason`);
    }
  },
});

Deno.test({
  name: "verifyEs256Jwt() leaves unusual headers and other algorithms to jose",
  ignore,
  async fn() {
    const s = NOW / 1000;
    const crit = await sign({ exp: s + 100 }, { crit: ["b64"], b64: true });
    const header = jose.decodeProtectedHeader(crit) as Record<string, unknown>;
    assert.equal(verifyEs256Jwt(crit, header, jwk, { now: NOW, clockTolerance: 60 }), undefined);
    const rsaJwk = { kty: "RSA", n: "AQAB", e: "AQAB" };
    const ok = await sign({ exp: s + 100 });
    assert.equal(
      verifyEs256Jwt(ok, { alg: "ES256" }, rsaJwk, { now: NOW, clockTolerance: 60 }),
      undefined,
    );
    assert.equal(
      verifyEs256Jwt(ok, { alg: "ES384" }, jwk, { now: NOW, clockTolerance: 60 }),
      undefined,
    );
  },
});
