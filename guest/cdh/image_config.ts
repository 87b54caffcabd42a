/**
 * The `[image]` section of cdh.toml (spec/guest.md §3.2, §5.1; image-rs `ImageConfig`): where the
 * layer store lives, how many layers download at once, and where the image security policy, the
 * lookaside (sigstore) config, the registry credentials and the registries config come from —
 * each a `kbs:///` resource (fetched through the CDH after attestation), a `file://` URL or a
 * bare path, or given inline. Parsed strictly: unknown keys and upstream features we do not
 * implement (proxies, anonymous fallback) are errors naming the key.
 */
import { bool, num, obj, onlyKeys, optStr, strArray } from "@coco/lib/json/fields";
import { parseRegistriesConfValue, type RegistriesConf } from "../image/registries_conf.ts";

/** image-rs' default work directory. */
export const DEFAULT_IMAGE_WORK_DIR = "/run/kata-containers/image";
/** image-rs' default `max_concurrent_layer_downloads_per_image`. */
export const DEFAULT_MAX_CONCURRENT_LAYERS = 3;

/** A complete `[image]` section. */
export interface ImagePullConfig {
  /** Layer store and overlay scratch space. */
  workDir: string;
  maxConcurrentLayerDownloadsPerImage: number;
  /** policy.json location (wins over `imageSecurityPolicy`). */
  imageSecurityPolicyUri?: string;
  /** policy.json text given inline. */
  imageSecurityPolicy?: string;
  /** registries.d YAML location (lookaside stores for `signedBy`). */
  sigstoreConfigUri?: string;
  /** registries.d YAML given inline. */
  sigstoreConfig?: string;
  /** auth.json location. */
  authenticatedRegistryCredentialsUri?: string;
  /** registries.conf location (used when there is no inline `registryConfig`). */
  registryConfigurationUri?: string;
  /** The inline `[image.registry_config]` table, parsed. */
  registryConfig?: RegistriesConf;
  /** PEM certificates trusted in addition to the system roots for registries. */
  extraRootCertificates: string[];
}

const KEYS = [
  "work_dir",
  "max_concurrent_layer_downloads_per_image",
  "image_security_policy_uri",
  "image_security_policy",
  "sigstore_config_uri",
  "sigstore_config",
  "authenticated_registry_credentials_uri",
  "anonymous_fallback_on_unauthorized",
  "registry_configuration_uri",
  "registry_config",
  "image_pull_proxy",
  "extra_root_certificates",
] as const;

/** A resource location: `kbs://…`, `kbs+plugin://…`, `file://…` or an absolute path. */
function location(v: unknown, key: string): string | undefined {
  const s = optStr(v, key);
  if (s === undefined || s === "") return undefined;
  if (/^kbs(\+[\w-]+)?:\/\//.test(s) || s.startsWith("file:///") || s.startsWith("/")) return s;
  throw new TypeError(
    `${key} \`${s}\` must be a kbs:/// resource URI, a file:/// URL or an absolute path`,
  );
}

function proxy(v: unknown): void {
  if (v === undefined) return;
  const o = obj(v, "image.image_pull_proxy");
  onlyKeys(o, ["https_proxy", "http_proxy", "no_proxy"], "image.image_pull_proxy");
  for (const k of ["https_proxy", "http_proxy"]) {
    if (optStr(o[k], `image.image_pull_proxy.${k}`)) {
      throw new TypeError(`image.image_pull_proxy.${k}: pulling through a proxy is not supported`);
    }
  }
}

function concurrency(v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_CONCURRENT_LAYERS;
  const n = num(v, "image.max_concurrent_layer_downloads_per_image");
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new TypeError(
      `image.max_concurrent_layer_downloads_per_image must be an integer from 1 to 64 (got ${n})`,
    );
  }
  return n;
}

/** Parses the decoded `[image]` table; `undefined` (no section) gives the defaults. */
export function parseImagePullConfig(input: unknown): ImagePullConfig {
  const o = obj(input ?? {}, "image");
  onlyKeys(o, KEYS, "image");
  if (
    o.anonymous_fallback_on_unauthorized !== undefined &&
    bool(o.anonymous_fallback_on_unauthorized, "image.anonymous_fallback_on_unauthorized")
  ) {
    throw new TypeError("image.anonymous_fallback_on_unauthorized = true is not supported");
  }
  proxy(o.image_pull_proxy);
  const workDir = optStr(o.work_dir, "image.work_dir") ?? DEFAULT_IMAGE_WORK_DIR;
  if (!workDir.startsWith("/") || workDir.split("/").includes("..")) {
    throw new TypeError(`image.work_dir \`${workDir}\` must be an absolute path without ..`);
  }
  const out: ImagePullConfig = {
    workDir: workDir.length > 1 ? workDir.replace(/\/+$/, "") : workDir,
    maxConcurrentLayerDownloadsPerImage: concurrency(o.max_concurrent_layer_downloads_per_image),
    extraRootCertificates: o.extra_root_certificates === undefined
      ? []
      : strArray(o.extra_root_certificates, "image.extra_root_certificates"),
  };
  const set = <K extends keyof ImagePullConfig>(k: K, v: ImagePullConfig[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set(
    "imageSecurityPolicyUri",
    location(o.image_security_policy_uri, "image.image_security_policy_uri"),
  );
  set(
    "imageSecurityPolicy",
    optStr(o.image_security_policy, "image.image_security_policy") || undefined,
  );
  set("sigstoreConfigUri", location(o.sigstore_config_uri, "image.sigstore_config_uri"));
  set("sigstoreConfig", optStr(o.sigstore_config, "image.sigstore_config") || undefined);
  set(
    "authenticatedRegistryCredentialsUri",
    location(
      o.authenticated_registry_credentials_uri,
      "image.authenticated_registry_credentials_uri",
    ),
  );
  set(
    "registryConfigurationUri",
    location(o.registry_configuration_uri, "image.registry_configuration_uri"),
  );
  if (o.registry_config !== undefined) {
    set("registryConfig", parseRegistriesConfValue(o.registry_config, "[image.registry_config]"));
  }
  for (const [i, pem] of out.extraRootCertificates.entries()) {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new TypeError(`image.extra_root_certificates[${i}] is not a PEM certificate`);
    }
  }
  return out;
}
