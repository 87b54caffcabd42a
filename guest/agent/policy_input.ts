/**
 * Turns a decoded agent request into the JSON a Kata agent policy sees as `input`
 * (spec/runtime.md §4.2): every field present under its `.proto` name, a field called `type`
 * renamed `type_`, unset sub-messages `null`, enums as integers, bytes as arrays of numbers,
 * maps as objects, 64-bit integers as numbers.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { JsonValue } from "@coco/lib/rego";

function scalar(value: unknown): JsonValue {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Uint8Array) return [...value];
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value;
  }
  return null;
}

function fieldValue(field: DescField, value: unknown): JsonValue {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return scalar(value);
    case "message":
      return value === undefined || value === null
        ? null
        : toPolicyInput(field.message, value as Record<string, unknown>);
    case "list": {
      const items = Array.isArray(value) ? value : [];
      return items.map((v) =>
        field.listKind === "message"
          ? toPolicyInput(field.message, v as Record<string, unknown>)
          : scalar(v)
      );
    }
    case "map": {
      const out: Record<string, JsonValue> = {};
      const entries = (value ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(entries)) {
        out[k] = field.mapKind === "message"
          ? toPolicyInput(field.message, v as Record<string, unknown>)
          : scalar(v);
      }
      return out;
    }
  }
}

/** Policy input JSON of `message` (a decoded message of `schema`). */
export function toPolicyInput(
  schema: DescMessage,
  message: Record<string, unknown>,
): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const field of schema.fields) {
    const key = field.name === "type" ? "type_" : field.name;
    let value: unknown;
    if (field.oneof) {
      const group = message[field.oneof.localName] as
        | { case?: string; value?: unknown }
        | undefined;
      value = group?.case === field.localName ? group.value : undefined;
      out[key] = value === undefined ? null : fieldValue(field, value);
      continue;
    }
    out[key] = fieldValue(field, message[field.localName]);
  }
  return out;
}
