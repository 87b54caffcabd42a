/**
 * The image configuration (`application/vnd.oci.image.config.v1+json` and Docker's
 * `container.image.v1+json`): the fields the pull pipeline and the bundle generator read, parsed
 * strictly; other fields (history, container_config …) are ignored.
 *
 * @module
 */
import type { Digest } from "./digest.ts";
import { Fields } from "./descriptor.ts";
import { parseJsonBytes } from "./manifest.ts";

/** The `config` member: how to run the image (wire names). */
export interface ContainerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  Volumes?: string[];
  ExposedPorts?: string[];
  StopSignal?: string;
}

/** A parsed image config. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
  created?: string;
  author?: string;
  config: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
}

function containerConfig(f: Fields, v: unknown): ContainerConfig {
  if (v === undefined || v === null) return {};
  const o = f.obj(v, "config");
  const c: ContainerConfig = {};
  const s = (k: "User" | "WorkingDir" | "StopSignal") => {
    const x = f.optStr(o[k], `config.${k}`);
    if (x !== undefined) c[k] = x;
  };
  const a = (k: "Env" | "Entrypoint" | "Cmd") => {
    const x = f.optStrArray(o[k], `config.${k}`);
    if (x !== undefined) c[k] = x;
  };
  s("User");
  s("WorkingDir");
  s("StopSignal");
  a("Env");
  a("Entrypoint");
  a("Cmd");
  if (o.Labels !== undefined && o.Labels !== null) c.Labels = f.strMap(o.Labels, "config.Labels");
  for (const k of ["Volumes", "ExposedPorts"] as const) {
    if (o[k] !== undefined && o[k] !== null) c[k] = Object.keys(f.obj(o[k], `config.${k}`));
  }
  return c;
}

/** Parses an image config from untrusted JSON. */
export function parseImageConfig(value: unknown): ImageConfig {
  const f = new Fields("invalid_config", "image config");
  const o = f.obj(value, "document");
  const rootfs = f.obj(o.rootfs, "rootfs");
  if (rootfs.type !== "layers") f.fail("rootfs.type", 'must be "layers"');
  const cfg: ImageConfig = {
    architecture: f.str(o.architecture, "architecture"),
    os: f.str(o.os, "os"),
    config: containerConfig(f, o.config),
    rootfs: {
      type: "layers",
      diff_ids: f.array(rootfs.diff_ids, "rootfs.diff_ids").map((d, i) =>
        f.digest(d, `rootfs.diff_ids[${i}]`)
      ),
    },
  };
  for (const k of ["variant", "os.version", "created", "author"] as const) {
    const x = f.optStr(o[k], k);
    if (x !== undefined) cfg[k] = x;
  }
  const features = f.optStrArray(o["os.features"], "os.features");
  if (features !== undefined) cfg["os.features"] = features;
  return cfg;
}

/** Parses image config bytes as fetched from the registry. */
export function parseImageConfigBytes(bytes: Uint8Array): ImageConfig {
  return parseImageConfig(parseJsonBytes(bytes, "invalid_config", "image config"));
}
