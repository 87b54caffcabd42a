/**
 * The CoCo `attestation-agent` key provider (spec/guest.md §3.7, §7.6): the annotation is a JSON
 * "annotation packet" `{kid, wrapped_data, iv, wrap_type}` whose `wrapped_data` is the private
 * options JSON sealed with AES-256-GCM under a key-encryption key (KEK) that the KBS releases
 * as resource `kid` after attestation. This module is both sides: the CDH's `UnWrapKey` logic
 * (given a resource getter) and the wrapping done by the host tool (for tests and benches).
 */
import { isJsonObject } from "@coco/lib/json";
import { OcicryptError } from "./errors.ts";
import { encodeUnwrapResponse, type KeyUnwrapper, parseUnwrapRequest } from "./keyprovider.ts";

/** Fetches a `kbs:///` resource (the CDH's GetResource, through the AA's token). */
export type ResourceGetter = (uri: string) => Promise<Uint8Array>;

/** Name of the provider in `…keys.provider.<name>` and in ocicrypt keyprovider configs. */
export const ATTESTATION_AGENT = "attestation-agent";

/** A parsed annotation packet (v1, or v2 with `provider` `kbs`). */
export interface AnnotationPacket {
  kid: string;
  wrappedData: Uint8Array;
  iv: Uint8Array;
  wrapType: "A256GCM";
}

function b64Field(o: Record<string, unknown>, key: string): Uint8Array {
  const v = o[key];
  if (typeof v !== "string") {
    throw new OcicryptError("bad-annotation", `Cannot parse annotation packet: ${key} is missing`);
  }
  try {
    return Uint8Array.fromBase64(v);
  } catch (err) {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot parse annotation packet: ${key} is not base64`,
      {
        cause: err,
      },
    );
  }
}

/** Parses an annotation packet strictly (only the `kbs` provider and `A256GCM` wrapping). */
export function parseAnnotationPacket(bytes: Uint8Array): AnnotationPacket {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new OcicryptError("bad-annotation", "Cannot parse annotation packet: not JSON", {
      cause: err,
    });
  }
  if (!isJsonObject(v) || typeof v["kid"] !== "string") {
    throw new OcicryptError("bad-annotation", "Cannot parse annotation packet: kid is missing");
  }
  const provider = v["provider"] ?? "kbs";
  if (provider !== "kbs") {
    throw new OcicryptError(
      "keyprovider",
      `Cannot unwrap key ${v["kid"]}: KMS provider ${JSON.stringify(provider)} is not supported`,
    );
  }
  const wrapType = v["wrap_type"] ?? "A256GCM";
  if (wrapType !== "A256GCM") {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot unwrap key ${v["kid"]}: wrap_type ${JSON.stringify(wrapType)} is not A256GCM`,
    );
  }
  const iv = b64Field(v, "iv");
  if (iv.length !== 12) {
    throw new OcicryptError("bad-annotation", `Cannot parse annotation packet: iv is not 12 bytes`);
  }
  return { kid: v["kid"], wrappedData: b64Field(v, "wrapped_data"), iv, wrapType };
}

async function gcmKey(kek: Uint8Array, kid: string, usage: KeyUsage): Promise<CryptoKey> {
  if (kek.length !== 32) {
    throw new OcicryptError(
      "keyprovider",
      `Cannot use key ${kid}: KEK has ${kek.length} bytes, expected 32 for A256GCM`,
    );
  }
  return await crypto.subtle.importKey("raw", new Uint8Array(kek), "AES-GCM", false, [usage]);
}

/** Unwraps an annotation packet with the KEK fetched from the KBS: returns the private options. */
export async function unwrapAnnotationPacket(
  annotation: Uint8Array,
  getResource: ResourceGetter,
): Promise<Uint8Array> {
  const p = parseAnnotationPacket(annotation);
  let kek: Uint8Array;
  try {
    kek = await getResource(p.kid);
  } catch (err) {
    throw new OcicryptError(
      "keyprovider",
      `Cannot get key ${p.kid} from the KBS: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: new Uint8Array(p.iv) },
        await gcmKey(kek, p.kid, "decrypt"),
        new Uint8Array(p.wrappedData),
      ),
    );
  } catch (err) {
    if (err instanceof OcicryptError) throw err;
    throw new OcicryptError(
      "no-key",
      `Cannot unwrap the layer key with ${p.kid}: AES-GCM authentication failed (wrong key?)`,
      { cause: err },
    );
  }
}

/** The in-process unwrapper: what the guest uses when the CDH lives in the same process. */
export function attestationAgentUnwrapper(getResource: ResourceGetter): KeyUnwrapper {
  return (annotation) => unwrapAnnotationPacket(annotation, getResource);
}

/**
 * The CDH `KeyProviderService.UnWrapKey` body: keyprovider request JSON in, answer JSON out
 * (optsdata as an integer array, like CDH).
 */
export async function serveUnwrapKey(
  request: Uint8Array,
  getResource: ResourceGetter,
): Promise<Uint8Array> {
  const { annotation } = parseUnwrapRequest(request);
  return encodeUnwrapResponse(await unwrapAnnotationPacket(annotation, getResource));
}

/** Wraps private options as the host-side `coco_keyprovider` does (for tests and benches). */
export async function wrapAnnotationPacket(
  privateOptions: Uint8Array,
  kek: Uint8Array,
  kid: string,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await gcmKey(kek, kid, "encrypt"),
    new Uint8Array(privateOptions),
  );
  return new TextEncoder().encode(JSON.stringify({
    kid,
    wrapped_data: new Uint8Array(wrapped).toBase64(),
    iv: iv.toBase64(),
    wrap_type: "A256GCM",
  }));
}
