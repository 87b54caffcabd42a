/** Encoding builtins: base64, base64url, hex, JSON, YAML, URL query. */

import { parse as yamlParse, stringify as yamlStringify } from "yaml";
import { fromJson, ObjectValue, SetValue, toJson, type Value } from "../value.ts";
import { BuiltinError, type BuiltinTable, define, obj, str } from "./_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function b64(bytes: Uint8Array, url: boolean, pad = true): string {
  let s = btoa(String.fromCharCode(...bytes));
  if (url) s = s.replaceAll("+", "-").replaceAll("/", "_");
  if (!pad) s = s.replace(/=+$/, "");
  return s;
}

function unb64(name: string, s: string, url: boolean): string {
  let x = url ? s.replaceAll("-", "+").replaceAll("_", "/") : s;
  if (url) x = x.padEnd(Math.ceil(x.length / 4) * 4, "=");
  try {
    const bin = atob(x);
    return dec.decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    throw new BuiltinError(`\`${name}\` could not decode ${JSON.stringify(s)}`);
  }
}

function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 8192) out.push(bytes.subarray(i, i + 8192));
  return out;
}

function b64Big(bytes: Uint8Array, url: boolean, pad = true): string {
  if (bytes.length <= 8192) return b64(bytes, url, pad);
  // btoa needs a binary string; build it in chunks to avoid argument-count limits.
  let bin = "";
  for (const c of chunks(bytes)) bin += String.fromCharCode(...c);
  let s = btoa(bin);
  if (url) s = s.replaceAll("+", "-").replaceAll("/", "_");
  if (!pad) s = s.replace(/=+$/, "");
  return s;
}

/** JSON text of a value (sets as arrays), keys sorted, like OPA. */
export function marshal(v: Value): string {
  return JSON.stringify(toJson(v));
}

function unmarshal(name: string, s: string): Value {
  let j: unknown;
  try {
    j = JSON.parse(s);
  } catch {
    throw new BuiltinError(`\`${name}\` could not parse JSON`);
  }
  return fromJson(j);
}

/** Registers encoding builtins. */
export function encoding(t: BuiltinTable): void {
  define(t, "base64.encode", 1, ([s]) => b64Big(enc.encode(str("base64.encode", s)), false));
  define(t, "base64.decode", 1, ([s]) => unb64("base64.decode", str("base64.decode", s), false));
  define(t, "base64.is_valid", 1, ([s]) => {
    try {
      atob(str("base64.is_valid", s));
      return true;
    } catch {
      return false;
    }
  });
  define(t, "base64url.encode", 1, ([s]) => b64Big(enc.encode(str("base64url.encode", s)), true));
  define(
    t,
    "base64url.encode_no_pad",
    1,
    ([s]) => b64Big(enc.encode(str("base64url.encode_no_pad", s)), true, false),
  );
  define(
    t,
    "base64url.decode",
    1,
    ([s]) => unb64("base64url.decode", str("base64url.decode", s), true),
  );
  define(
    t,
    "hex.encode",
    1,
    ([s]) =>
      [...enc.encode(str("hex.encode", s))].map((b) => b.toString(16).padStart(2, "0")).join(""),
  );
  define(t, "hex.decode", 1, ([s]) => {
    const x = str("hex.decode", s);
    if (x.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(x)) {
      throw new BuiltinError("`hex.decode` invalid hex string");
    }
    const bytes = new Uint8Array(x.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(x.slice(i * 2, i * 2 + 2), 16);
    try {
      return dec.decode(bytes);
    } catch {
      throw new BuiltinError("`hex.decode` result is not valid UTF-8");
    }
  });
  define(t, "json.marshal", 1, ([v]) => marshal(v!));
  define(t, "json.marshal_with_options", 2, ([v, o]) => {
    const opts = obj("json.marshal_with_options", o);
    const indent = opts.get("indent"), prefix = opts.get("prefix");
    const pretty = opts.get("pretty") === true || typeof indent === "string" ||
      typeof prefix === "string";
    if (!pretty) return marshal(v!);
    const text = JSON.stringify(toJson(v!), null, typeof indent === "string" ? indent : "\t");
    const p = typeof prefix === "string" ? prefix : "";
    return text.split("\n").map((l) => p + l).join("\n");
  });
  define(t, "json.unmarshal", 1, ([s]) => unmarshal("json.unmarshal", str("json.unmarshal", s)));
  define(t, "json.is_valid", 1, ([s]) => {
    if (typeof s !== "string") return false;
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  });
  define(t, "yaml.marshal", 1, ([v]) => yamlStringify(toJson(v!)));
  define(t, "yaml.unmarshal", 1, ([s]) => {
    try {
      return fromJson(yamlParse(str("yaml.unmarshal", s), { maxAliasCount: 100 }) ?? null);
    } catch (e) {
      if (e instanceof BuiltinError || e instanceof RangeError) throw e;
      throw new BuiltinError("`yaml.unmarshal` could not parse YAML");
    }
  });
  define(t, "yaml.is_valid", 1, ([s]) => {
    if (typeof s !== "string") return false;
    try {
      yamlParse(s, { maxAliasCount: 100 });
      return true;
    } catch {
      return false;
    }
  });
  define(
    t,
    "urlquery.encode",
    1,
    ([s]) => encodeURIComponent(str("urlquery.encode", s)).replaceAll("%20", "+"),
  );
  define(t, "urlquery.decode", 1, ([s]) => {
    try {
      return decodeURIComponent(str("urlquery.decode", s).replaceAll("+", " "));
    } catch {
      throw new BuiltinError("`urlquery.decode` invalid encoding");
    }
  });
  define(t, "urlquery.encode_object", 1, ([o]) => {
    const parts: string[] = [];
    for (const [k, v] of obj("urlquery.encode_object", o).entries()) {
      const vals = typeof v === "string"
        ? [v]
        : Array.isArray(v)
        ? v
        : v instanceof SetValue
        ? v.values()
        : undefined;
      if (!vals) {
        throw new BuiltinError("`urlquery.encode_object` expects string, array or set values");
      }
      for (const x of vals) {
        parts.push(
          `${encodeURIComponent(str("urlquery.encode_object", k))}=${
            encodeURIComponent(str("urlquery.encode_object", x))
          }`,
        );
      }
    }
    return parts.join("&");
  });
  define(t, "urlquery.decode_object", 1, ([s]) => {
    const out = new Map<string, string[]>();
    for (const [k, v] of new URLSearchParams(str("urlquery.decode_object", s))) {
      out.set(k, [...(out.get(k) ?? []), v]);
    }
    return new ObjectValue([...out.entries()]);
  });
}
