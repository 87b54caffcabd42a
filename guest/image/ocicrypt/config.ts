/**
 * Building a {@linkcode LayerKeySource} from what a user or the CDH configures:
 * decrypt-config strings (spec/guest.md §7.4: `<file>`, `<file>:<password>`, `<file>:pass=<pw>`,
 * `<file>:file=<pwfile>`, `kbs:///…` (our addition: key fetched through the CDH),
 * `provider:<name>[:<params>]`) and the ocicrypt keyprovider config JSON (§7.5).
 */
import { isJsonObject } from "@coco/lib/json";
import type { ResourceGetter } from "./attestation_agent_provider.ts";
import type { LayerKeySource } from "./decrypt.ts";
import { OcicryptError } from "./errors.ts";
import {
  commandKeyProvider,
  type KeyUnwrapper,
  type TtrpcCaller,
  ttrpcKeyProvider,
} from "./keyprovider.ts";
import { type JwePrivateKey, parsePrivateKey } from "./keys.ts";

/** Effects needed to resolve key specs. */
export interface KeyLoadDeps {
  readFile?: (path: string) => Promise<Uint8Array>;
  /** Fetches `kbs:///` keys; without it such specs are an error. */
  getResource?: ResourceGetter;
  /** Providers that `provider:<name>` may select (from the keyprovider config). */
  providers?: Readonly<Record<string, KeyUnwrapper>>;
}

async function password(rest: string, read: (p: string) => Promise<Uint8Array>) {
  if (rest.startsWith("pass=")) return rest.slice(5);
  if (rest.startsWith("file=")) {
    return new TextDecoder().decode(await read(rest.slice(5))).replace(/\r?\n$/, "");
  }
  if (rest.startsWith("fd=")) {
    throw new OcicryptError("bad-config", "Cannot read a key password from fd=: not supported");
  }
  return rest;
}

/** Resolves decrypt-config key specs into a key source. */
export async function loadLayerKeys(
  specs: readonly string[],
  deps: KeyLoadDeps = {},
): Promise<LayerKeySource> {
  const read = deps.readFile ?? ((p: string) => Deno.readFile(p));
  const privateKeys: JwePrivateKey[] = [];
  const keyProviders: Record<string, KeyUnwrapper> = {};
  for (const spec of specs) {
    if (spec.startsWith("provider:")) {
      const name = spec.slice("provider:".length).split(":")[0] ?? "";
      const p = deps.providers?.[name];
      if (!p) {
        throw new OcicryptError(
          "bad-config",
          `Cannot use decryption key ${spec}: key provider ${
            JSON.stringify(name)
          } is not configured`,
        );
      }
      keyProviders[name] = p;
    } else if (/^kbs(\+[\w-]+)?:\/\//.test(spec)) {
      if (!deps.getResource) {
        throw new OcicryptError("bad-config", `Cannot fetch decryption key ${spec}: no CDH`);
      }
      privateKeys.push(parsePrivateKey(await deps.getResource(spec), spec));
    } else {
      const i = spec.indexOf(":");
      const path = i < 0 ? spec : spec.slice(0, i);
      const pw = i < 0 ? undefined : await password(spec.slice(i + 1), read);
      let bytes: Uint8Array;
      try {
        bytes = await read(path);
      } catch (err) {
        throw new OcicryptError("bad-key", `Cannot read decryption key ${path}: ${err}`, {
          cause: err,
        });
      }
      privateKeys.push(parsePrivateKey(bytes, path, pw));
    }
  }
  return { privateKeys, keyProviders };
}

/** One entry of `{"key-providers":{…}}`. */
export type KeyProviderEntry =
  | { kind: "cmd"; path: string; args: string[] }
  | { kind: "ttrpc"; address: string }
  | { kind: "grpc"; address: string }
  | { kind: "native"; value: string };

/** Parses an ocicrypt keyprovider config (`OCICRYPT_KEYPROVIDER_CONFIG`) strictly. */
export function parseKeyProviderConfig(text: string): Record<string, KeyProviderEntry> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new OcicryptError("bad-config", "Cannot parse keyprovider config: not JSON", {
      cause: err,
    });
  }
  const providers = isJsonObject(v) ? v["key-providers"] : undefined;
  if (!isJsonObject(providers)) {
    throw new OcicryptError("bad-config", "Cannot parse keyprovider config: key-providers missing");
  }
  const out: Record<string, KeyProviderEntry> = {};
  for (const [name, e] of Object.entries(providers)) {
    const bad = (why: string) =>
      new OcicryptError("bad-config", `Cannot parse keyprovider config: ${name}: ${why}`);
    if (!isJsonObject(e)) throw bad("expected an object");
    const cmd = e["cmd"];
    if (isJsonObject(cmd) && typeof cmd["path"] === "string") {
      const args = Array.isArray(cmd["args"]) ? cmd["args"].map(String) : [];
      out[name] = { kind: "cmd", path: cmd["path"], args };
    } else if (typeof e["ttrpc"] === "string") out[name] = { kind: "ttrpc", address: e["ttrpc"] };
    else if (typeof e["grpc"] === "string") out[name] = { kind: "grpc", address: e["grpc"] };
    else if (typeof e["native"] === "string") out[name] = { kind: "native", value: e["native"] };
    else throw bad("expected one of cmd, ttrpc, grpc, native");
  }
  return out;
}

/**
 * Turns config entries into unwrappers. `ttrpc` entries need `connect` (returns a client for the
 * address); `native` ones need `native` (the in-process attestation-agent unwrapper); `grpc` is not
 * supported in the guest (CoCo guests speak ttrpc to the CDH).
 */
export function keyProvidersFromConfig(
  entries: Record<string, KeyProviderEntry>,
  deps: { connect?: (address: string) => TtrpcCaller; native?: KeyUnwrapper },
): Record<string, KeyUnwrapper> {
  const out: Record<string, KeyUnwrapper> = {};
  for (const [name, e] of Object.entries(entries)) {
    switch (e.kind) {
      case "cmd":
        out[name] = commandKeyProvider(name, e.path, e.args);
        break;
      case "ttrpc":
        if (!deps.connect) throw new OcicryptError("bad-config", `${name}: no ttrpc connector`);
        out[name] = ttrpcKeyProvider(name, deps.connect(e.address));
        break;
      case "native":
        if (!deps.native) throw new OcicryptError("bad-config", `${name}: no native provider`);
        out[name] = deps.native;
        break;
      case "grpc":
        throw new OcicryptError(
          "bad-config",
          `Cannot use key provider ${name}: grpc providers are not supported in the guest (use ttrpc)`,
        );
    }
  }
  return out;
}
