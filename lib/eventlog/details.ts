/**
 * Per-event `details` and the `uefi_event_logs` JSON entry Trustee emits for each event
 * (spec/evidence.md §6.3). Keys are emitted in sorted order, as Trustee's JSON maps are.
 */
import type { JsonValue } from "../json/mod.ts";
import type { EventLogEntry } from "./ccel.ts";
import { formatDevicePath } from "./device_path.ts";
import { EventLogError, tcgHash } from "./tcg.ts";
import { parseAaelText } from "./aael.ts";

/** Tagged-event id of AAEL entries ("AAEL" as a LE u32; bytes "LEAA" on the wire). */
export const AAEL_TAG_ID = 0x4141454c;

/** The `details` object of one event. */
export interface EventDetails {
  data?: JsonValue;
  device_paths?: string[];
  string?: string;
  unicode_name?: string;
  unicode_name_length?: number;
  variable_data?: string;
  variable_data_length?: number;
  variable_name?: string;
}

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

function utf8Strict(data: Uint8Array, what: string): string {
  try {
    return strict.decode(data);
  } catch (err) {
    throw new EventLogError("malformed", `Cannot parse ${what} event: data is not UTF-8`, {
      cause: err,
    });
  }
}

function utf8OrUndefined(data: Uint8Array): string | undefined {
  try {
    return strict.decode(data);
  } catch {
    return undefined;
  }
}

function utf16le(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) w.push(b[i]! | (b[i + 1]! << 8));
  return String.fromCharCode(...w).toWellFormed();
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function efiVariable(d: Uint8Array): EventDetails {
  if (d.length < 32) {
    throw new EventLogError("truncated", "Cannot parse EFI variable event: shorter than 32 bytes");
  }
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const nameLen = Number(dv.getBigUint64(16, true));
  const dataLen = Number(dv.getBigUint64(24, true));
  const nameEnd = 32 + nameLen * 2;
  if (nameEnd + dataLen > d.length) {
    throw new EventLogError("truncated", "Cannot parse EFI variable event: lengths exceed data");
  }
  const g = d.subarray(0, 16).toHex();
  return {
    unicode_name: utf16le(d.subarray(32, nameEnd)),
    unicode_name_length: nameLen,
    variable_data: d.subarray(nameEnd, nameEnd + dataLen).toBase64(),
    variable_data_length: dataLen,
    variable_name: `${g.slice(0, 8)}-${g.slice(8, 12)}-${g.slice(12, 16)}-${g.slice(16, 20)}-${
      g.slice(20)
    }`,
  };
}

function eventTag(d: Uint8Array): EventDetails {
  if (d.length < 8) throw new EventLogError("truncated", "Cannot parse EV_EVENT_TAG: too short");
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const id = dv.getUint32(0, true);
  const size = dv.getUint32(4, true);
  if (8 + size > d.length) {
    throw new EventLogError("truncated", "Cannot parse EV_EVENT_TAG: size exceeds data");
  }
  const payload = d.subarray(8, 8 + size);
  const text = lossy.decode(payload).replaceAll("\u0000", "");
  if (id !== AAEL_TAG_ID) return { string: text };
  const aael = parseAaelText(text);
  return {
    data: { content: aael.content, domain: aael.domain, operation: aael.operation },
    string: text,
    unicode_name: "AAEL",
  };
}

function bootServicesApp(d: Uint8Array): EventDetails {
  if (d.length < 32) throw new EventLogError("truncated", "Cannot parse image load event");
  const len = Number(new DataView(d.buffer, d.byteOffset, d.byteLength).getBigUint64(24, true));
  if (len === 0) return {};
  const end = 32 + len - 4;
  if (len < 4 || end > d.length) {
    throw new EventLogError("truncated", "Cannot parse image load event: device path too long");
  }
  try {
    return { device_paths: formatDevicePath(d.subarray(32, end)) };
  } catch (err) {
    throw new EventLogError(
      "malformed",
      `Cannot parse image load event: ${(err as Error).message}`,
    );
  }
}

function ipl(d: Uint8Array): EventDetails {
  if (d.length >= 2 && d[0] === 0x2e && d[1] === 0x00) {
    return { string: utf16le(d.subarray(2, Math.max(2, d.length - 2))) };
  }
  const nul = d.indexOf(0);
  const s = utf8OrUndefined(nul < 0 ? d : d.subarray(0, nul));
  return { string: s ?? d.toHex() };
}

/** Decodes the `details` of an event from its type and data. */
export function eventDetails(typeName: string, d: Uint8Array): EventDetails {
  switch (typeName) {
    case "EV_POST_CODE":
    case "EV_ACTION":
    case "EV_COMPACT_HASH":
    case "EV_OMIT_BOOT_DEVICE_EVENTS":
    case "EV_EFI_ACTION":
      return { string: utf8Strict(d, typeName) };
    case "EV_PLATFORM_CONFIG_FLAGS":
      return { string: (utf8OrUndefined(d) ?? "").replaceAll("\u0010", " ").replace(CONTROL, "") };
    case "EV_EFI_PLATFORM_FIRMWARE_BLOB2":
    case "EV_EFI_HANDOFF_TABLES2": {
      const n = d[0] ?? 0;
      return { string: lossy.decode(d.subarray(1, Math.max(1, Math.min(n, d.length)))) };
    }
    case "EV_IPL":
      return ipl(d);
    case "EV_EVENT_TAG":
      return eventTag(d);
    case "EV_EFI_VARIABLE_DRIVER_CONFIG":
    case "EV_EFI_VARIABLE_BOOT":
    case "EV_EFI_VARIABLE_BOOT2":
    case "EV_EFI_VARIABLE_AUTHORITY":
      return efiVariable(d);
    case "EV_EFI_BOOT_SERVICES_APPLICATION":
      return bootServicesApp(d);
    default:
      return {};
  }
}

/** Whether every digest of the event is the hash of its data. */
export function digestMatchesEvent(e: EventLogEntry): boolean {
  return e.digests.every((d) =>
    d.alg.node !== undefined && tcgHash(d.alg, e.data).toHex() === d.digest.toHex()
  );
}

function detailsJson(d: EventDetails): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const k of Object.keys(d).sort() as (keyof EventDetails)[]) {
    const v = d[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The `uefi_event_logs` JSON entry of an event, as Trustee emits it. */
export function eventJson(e: EventLogEntry): Record<string, JsonValue> {
  return {
    details: detailsJson(eventDetails(e.typeName, e.data)),
    digest_matches_event: digestMatchesEvent(e),
    digests: e.digests.map((d) => ({ alg: d.alg.name, digest: d.digest.toHex() })),
    event: e.data.toBase64(),
    index: e.index,
    type_name: e.typeName,
  };
}
