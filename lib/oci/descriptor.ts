/**
 * Content descriptors (`mediaType`, `digest`, `size`, …) with a strict parser, and the small
 * field readers the manifest, index and config parsers share.
 *
 * @module
 */
import { isJsonObject } from "../json/mod.ts";
import { type Digest, parseDigest } from "./digest.ts";
import { OciError, type OciErrorCode } from "./errors.ts";
import type { Platform } from "./platform.ts";

/** An OCI content descriptor (wire names). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** Field readers that throw {@link OciError} with a given code and the field path. */
export class Fields {
  constructor(readonly code: OciErrorCode, readonly what: string) {}

  fail(path: string, why: string): never {
    throw new OciError(this.code, `Invalid ${this.what}: ${path} ${why}`);
  }
  obj(v: unknown, path: string): Record<string, unknown> {
    if (!isJsonObject(v)) this.fail(path, "must be an object");
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== "string") this.fail(path, "must be a string");
    return v;
  }
  optStr(v: unknown, path: string): string | undefined {
    return v === undefined || v === null ? undefined : this.str(v, path);
  }
  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, "must be an array");
    return v;
  }
  strArray(v: unknown, path: string): string[] {
    if (!Array.isArray(v)) this.fail(path, "must be an array of strings");
    return v.map((x, i) => this.str(x, `${path}[${i}]`));
  }
  optStrArray(v: unknown, path: string): string[] | undefined {
    return v === undefined || v === null ? undefined : this.strArray(v, path);
  }
  strMap(v: unknown, path: string): Record<string, string> {
    const o = this.obj(v, path);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) out[k] = this.str(x, `${path}.${k}`);
    return out;
  }
  size(v: unknown, path: string): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      this.fail(path, "must be a non-negative integer");
    }
    return v;
  }
  digest(v: unknown, path: string): Digest {
    try {
      return parseDigest(v, path);
    } catch (e) {
      this.fail(path, `is not a valid digest (${e instanceof Error ? e.message : e})`);
    }
  }
  mediaType(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (!MEDIA_TYPE.test(s)) this.fail(path, `"${s.slice(0, 80)}" is not a media type`);
    return s;
  }
  schemaVersion(v: unknown): void {
    if (v !== 2) this.fail("schemaVersion", `must be 2 (got ${JSON.stringify(v) ?? "nothing"})`);
  }
  platform(v: unknown, path: string): Platform {
    const o = this.obj(v, path);
    const p: Platform = {
      os: this.str(o.os, `${path}.os`),
      architecture: this.str(o.architecture, `${path}.architecture`),
    };
    const variant = this.optStr(o.variant, `${path}.variant`);
    if (variant !== undefined) p.variant = variant;
    const version = this.optStr(o["os.version"], `${path}.os.version`);
    if (version !== undefined) p["os.version"] = version;
    const features = this.optStrArray(o["os.features"], `${path}.os.features`);
    if (features !== undefined) p["os.features"] = features;
    return p;
  }

  descriptor(v: unknown, path: string): Descriptor {
    const o = this.obj(v, path);
    const d: Descriptor = {
      mediaType: this.mediaType(o.mediaType, `${path}.mediaType`),
      digest: this.digest(o.digest, `${path}.digest`),
      size: this.size(o.size, `${path}.size`),
    };
    const urls = this.optStrArray(o.urls, `${path}.urls`);
    if (urls !== undefined) d.urls = urls;
    if (o.annotations !== undefined && o.annotations !== null) {
      d.annotations = this.strMap(o.annotations, `${path}.annotations`);
    }
    if (o.platform !== undefined && o.platform !== null) {
      d.platform = this.platform(o.platform, `${path}.platform`);
    }
    const artifactType = this.optStr(o.artifactType, `${path}.artifactType`);
    if (artifactType !== undefined) d.artifactType = artifactType;
    return d;
  }
}

/** Parses one descriptor from untrusted JSON. */
export function parseDescriptor(value: unknown): Descriptor {
  return new Fields("invalid_descriptor", "descriptor").descriptor(value, "descriptor");
}
