/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object members sorted by UTF-16 code units, no
 * whitespace, ECMAScript number and string serialization. Used to hash KBS runtime data.
 */

/** Thrown for values JCS cannot represent (NaN, Infinity, lone surrogates, non-JSON types). */
export class CanonicalJsonError extends TypeError {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function str(value: string): string {
  if (LONE_SURROGATE.test(value)) {
    throw new CanonicalJsonError("Cannot canonicalize JSON: string contains a lone surrogate");
  }
  return JSON.stringify(value);
}

function write(value: unknown, out: string[]): void {
  if (value === null) out.push("null");
  else if (typeof value === "boolean") out.push(value ? "true" : "false");
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new CanonicalJsonError(`Cannot canonicalize JSON: number ${value} is not finite`);
    }
    out.push(JSON.stringify(value));
  } else if (typeof value === "string") out.push(str(value));
  else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((v, i) => {
      if (i > 0) out.push(",");
      write(v, out);
    });
    out.push("]");
  } else if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) =>
      (value as Record<string, unknown>)[k] !== undefined
    )
      .sort();
    out.push("{");
    keys.forEach((k, i) => {
      if (i > 0) out.push(",");
      out.push(str(k), ":");
      write((value as Record<string, unknown>)[k], out);
    });
    out.push("}");
  } else {
    throw new CanonicalJsonError(`Cannot canonicalize JSON: unsupported type ${typeof value}`);
  }
}

/** Serializes a JSON value in RFC 8785 canonical form. */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}
