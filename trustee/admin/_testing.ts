/** Test helpers: key pairs in PEM and JWK form, a fake key-source file system and fetch. */
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type JWK } from "jose";
import type { AdminAuthorizerDeps } from "./authorizer.ts";

/** A generated key pair in every form the tests need. */
export interface TestKey {
  alg: string;
  privateKeyPem: string;
  publicKeyPem: string;
  publicJwk: JWK;
}

/** Generates a key pair for `alg` (`EdDSA`, `ES256`, `ES384`, `RS256`, `PS256`). */
export async function testKey(alg: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    privateKeyPem: await exportPKCS8(privateKey),
    publicKeyPem: await exportSPKI(publicKey),
    publicJwk: await exportJWK(publicKey),
  };
}

/** Deps whose files and https URLs come from `files`; the clock is pinned to `nowMs`. */
export function fakeDeps(
  files: Record<string, string>,
  nowMs: number,
): AdminAuthorizerDeps & { fetched: string[] } {
  const fetched: string[] = [];
  const lookup = (name: string) => Object.hasOwn(files, name) ? files[name] : undefined;
  return {
    fetched,
    now: () => nowMs,
    readTextFile(path) {
      const text = lookup(path);
      return text === undefined
        ? Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`))
        : Promise.resolve(text);
    },
    fetch(url) {
      fetched.push(url);
      const text = lookup(url);
      return Promise.resolve(
        text === undefined ? new Response("not found", { status: 404 }) : new Response(text),
      );
    },
  };
}
