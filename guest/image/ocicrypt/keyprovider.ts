/**
 * The ocicrypt keyprovider protocol (spec/guest.md §7.5): JSON messages
 * `KeyProviderKeyWrapProtocolInput` / `…Output` carried in a protobuf bytes field over ttrpc
 * (`keyprovider.KeyProviderService`) or on a command's stdin/stdout. Byte fields are accepted both
 * as Go's base64 strings and as ocicrypt-rs's JSON integer arrays; we emit what each peer expects.
 */
import { isJsonObject } from "@coco/lib/json";
import { keyprovider } from "@coco/lib/proto";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";
import { OcicryptError } from "./errors.ts";

/**
 * Unwraps one `…keys.provider.<name>` annotation (decoded bytes) into the private options JSON.
 * Implementations: {@linkcode ttrpcKeyProvider}, {@linkcode commandKeyProvider}, and the in-process
 * attestation-agent unwrapper in `attestation_agent_provider.ts`.
 */
export type KeyUnwrapper = (annotation: Uint8Array) => Promise<Uint8Array>;

const enc = new TextEncoder();

/** Decodes a protocol byte field: base64 string (Go) or integer array (ocicrypt-rs). */
export function decodeBytesField(value: unknown, what: string): Uint8Array {
  if (typeof value === "string") {
    try {
      return Uint8Array.fromBase64(value);
    } catch (err) {
      throw new OcicryptError("keyprovider", `Cannot parse ${what}: not base64`, { cause: err });
    }
  }
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Uint8Array.from(value as number[]);
  }
  throw new OcicryptError("keyprovider", `Cannot parse ${what}: expected base64 or a byte array`);
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new OcicryptError("keyprovider", `Cannot parse ${what}: not JSON`, { cause: err });
  }
  if (!isJsonObject(v)) {
    throw new OcicryptError("keyprovider", `Cannot parse ${what}: expected a JSON object`);
  }
  return v;
}

/** A parsed `keyunwrap` request. */
export interface UnwrapRequest {
  annotation: Uint8Array;
  /** `keyunwrapparams.dc.Parameters` (values base64 in Go). */
  parameters: Record<string, string[]>;
}

/** Encodes a `keyunwrap` request (annotation as a base64 string, as Go and CDH expect). */
export function encodeUnwrapRequest(annotation: Uint8Array): Uint8Array {
  return enc.encode(JSON.stringify({
    op: "keyunwrap",
    keywrapparams: {},
    keyunwrapparams: { dc: { Parameters: {} }, annotation: annotation.toBase64() },
  }));
}

/** Parses a keyprovider request; only `keyunwrap` is served in the guest. */
export function parseUnwrapRequest(bytes: Uint8Array): UnwrapRequest {
  const v = parseJson(bytes, "keyprovider request");
  if (v["op"] !== "keyunwrap") {
    throw new OcicryptError(
      "keyprovider",
      `Cannot serve keyprovider request: op ${JSON.stringify(v["op"])} is not "keyunwrap"`,
    );
  }
  const params = v["keyunwrapparams"];
  if (!isJsonObject(params)) {
    throw new OcicryptError("keyprovider", "Cannot parse keyprovider request: no keyunwrapparams");
  }
  const parameters: Record<string, string[]> = {};
  const dc = params["dc"];
  if (isJsonObject(dc) && isJsonObject(dc["Parameters"])) {
    for (const [k, list] of Object.entries(dc["Parameters"])) {
      if (Array.isArray(list)) parameters[k] = list.filter((s) => typeof s === "string");
    }
  }
  return {
    annotation: decodeBytesField(params["annotation"], "keyunwrapparams.annotation"),
    parameters,
  };
}

/** Encodes a `keyunwrap` answer; `intArray` selects ocicrypt-rs's encoding (CDH's default). */
export function encodeUnwrapResponse(optsdata: Uint8Array, intArray = true): Uint8Array {
  return enc.encode(JSON.stringify({
    keyunwrapresults: { optsdata: intArray ? Array.from(optsdata) : optsdata.toBase64() },
  }));
}

/** Parses a `keyunwrap` answer (either byte encoding). */
export function parseUnwrapResponse(bytes: Uint8Array): Uint8Array {
  const v = parseJson(bytes, "keyprovider response");
  const results = v["keyunwrapresults"];
  if (!isJsonObject(results)) {
    throw new OcicryptError(
      "keyprovider",
      "Cannot parse keyprovider response: keyunwrapresults is missing",
    );
  }
  return decodeBytesField(results["optsdata"], "keyunwrapresults.optsdata");
}

/** Something that runs a call on a ttrpc connection (e.g. guest/_rpc's `LazyTtrpcClient`). */
export interface TtrpcCaller {
  call<T>(run: (client: TtrpcClient) => Promise<T>): Promise<T>;
}

/** A key provider reached over ttrpc (`keyprovider.KeyProviderService/UnWrapKey`), e.g. the CDH. */
export function ttrpcKeyProvider(name: string, client: TtrpcClient | TtrpcCaller): KeyUnwrapper {
  const caller: TtrpcCaller = client instanceof TtrpcClient
    ? { call: (run) => run(client) }
    : client;
  return async (annotation) => {
    let out;
    try {
      out = await caller.call((c) =>
        createClient(c, keyprovider.KeyProviderService).unWrapKey({
          KeyProviderKeyWrapProtocolInput: encodeUnwrapRequest(annotation),
        })
      );
    } catch (err) {
      throw new OcicryptError(
        "keyprovider",
        `Key provider ${name} failed to unwrap the layer key: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return parseUnwrapResponse(out.KeyProviderKeyWrapProtocolOutput);
  };
}

/** A key provider run as a command (`{"cmd":{"path","args"}}`): request on stdin, answer on stdout. */
export function commandKeyProvider(name: string, path: string, args: string[] = []): KeyUnwrapper {
  return async (annotation) => {
    const child = new Deno.Command(path, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encodeUnwrapRequest(annotation));
    await writer.close();
    const out = await child.output();
    if (!out.success) {
      throw new OcicryptError(
        "keyprovider",
        `Key provider ${name} (${path}) exited with ${out.code}: ` +
          new TextDecoder().decode(out.stderr).trim().slice(0, 500),
      );
    }
    return parseUnwrapResponse(out.stdout);
  };
}
