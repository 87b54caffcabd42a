/**
 * `kbs-config.toml` (upstream format, spec/trustee.md §8) resolved into a complete typed config.
 * Sections `[http_server]` and `[admin]` are required, as upstream; everything else has defaults.
 */
import { bool, num, obj, optStr, str, strArray } from "@coco/lib/json/fields";
import { ConfigError, inConfig, loadConfigFile } from "@coco/lib/config";
import { isJsonObject } from "@coco/lib/json";
import { type AdminConfig, parseAdminConfig } from "../admin/mod.ts";
import { parseStorageConfig, type StorageConfig } from "../storage/mod.ts";
import { DEFAULT_TOKEN_BROKER, type TokenBrokerConfig } from "../attestation_service/ear.ts";
import type { SignerConfig } from "../attestation_service/signer.ts";
import { type LimitsConfig, parseLimits } from "./limits.ts";

export interface HttpServerConfig {
  sockets: string[];
  insecure_http: boolean;
  private_key?: string;
  certificate?: string;
  /** Body limit in MiB. */
  payload_request_size: number;
  /** Lowest TLS version; Deno's TLS stack (rustls) never offers less than 1.2. */
  tls_min_version: "1.2";
}

export interface AttestationTokenConfig {
  trusted_certs_paths: string[];
  trusted_jwk_sets: string[];
  insecure_header_jwk: boolean;
  extra_teekey_paths: string[];
}

export interface BuiltinAsConfig {
  type: "coco_as_builtin";
  /** Session lifetime in minutes. */
  timeout: number;
  broker: TokenBrokerConfig;
  signer?: SignerConfig;
  /** `[attestation_service.verifier_config.tpm_verifier]` (upstream names); see verifier/tpm. */
  tpm_verifier?: { trusted_ak_keys_dir: string; max_trusted_ak_keys: number };
}

/** `storage_backend_type = "Vault"` of the resource plugin (HashiCorp Vault / OpenBao KV v1). */
export interface VaultPluginConfig {
  vault_url: string;
  token: string;
  mount_path: string;
  ca_certs: string[];
}

export type PluginConfig =
  | { name: "resource"; storage_backend_type: "kvstorage" }
  | { name: "resource"; storage_backend_type: "Vault"; vault: VaultPluginConfig }
  | { name: "sample"; item: string };

export interface KbsConfig {
  file: string;
  http_server: HttpServerConfig;
  admin: AdminConfig;
  attestation_token: AttestationTokenConfig;
  attestation_service: BuiltinAsConfig;
  storage_backend: StorageConfig;
  session_storage: StorageConfig;
  plugins: PluginConfig[];
  limits: LimitsConfig;
}

function section(root: Record<string, unknown>, key: string): Record<string, unknown> {
  return root[key] === undefined ? {} : obj(root[key], `[${key}]`);
}

function parseHttpServer(raw: Record<string, unknown>): HttpServerConfig {
  const out: HttpServerConfig = {
    sockets: raw.sockets === undefined
      ? ["127.0.0.1:8080"]
      : strArray(raw.sockets, "http_server.sockets"),
    insecure_http: raw.insecure_http === undefined
      ? false
      : bool(raw.insecure_http, "http_server.insecure_http"),
    payload_request_size: raw.payload_request_size === undefined
      ? 2
      : num(raw.payload_request_size, "http_server.payload_request_size"),
    tls_min_version: "1.2",
  };
  if (raw.tls_min_version !== undefined) {
    const v = str(raw.tls_min_version, "http_server.tls_min_version");
    if (v !== "1.2") {
      throw new TypeError(
        `http_server.tls_min_version \`${v}\` is not supported (only "1.2"; TLS 1.2 and 1.3 are both offered)`,
      );
    }
  }
  const key = optStr(raw.private_key, "http_server.private_key");
  const cert = optStr(raw.certificate, "http_server.certificate");
  if (key !== undefined) out.private_key = key;
  if (cert !== undefined) out.certificate = cert;
  for (const s of out.sockets) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(s)) {
      throw new TypeError(`http_server.sockets: \`${s}\` is not host:port`);
    }
  }
  return out;
}

function parseToken(raw: Record<string, unknown>): AttestationTokenConfig {
  const list = (k: string) =>
    raw[k] === undefined ? [] : strArray(raw[k], `attestation_token.${k}`);
  return {
    trusted_certs_paths: list("trusted_certs_paths"),
    trusted_jwk_sets: list("trusted_jwk_sets"),
    insecure_header_jwk: raw.insecure_header_jwk === undefined
      ? false
      : bool(raw.insecure_header_jwk, "attestation_token.insecure_header_jwk"),
    extra_teekey_paths: list("extra_teekey_paths"),
  };
}

function parseBroker(
  raw: Record<string, unknown>,
): { broker: TokenBrokerConfig; signer?: SignerConfig } {
  const b = { ...DEFAULT_TOKEN_BROKER };
  const p = "attestation_service.attestation_token_broker";
  if (raw.duration_min !== undefined) b.duration_min = num(raw.duration_min, `${p}.duration_min`);
  for (const k of ["issuer_name", "developer_name", "build_name", "profile_name"] as const) {
    if (raw[k] !== undefined) b[k] = str(raw[k], `${p}.${k}`);
  }
  if (raw.verbose_token !== undefined) {
    b.verbose_token = bool(raw.verbose_token, `${p}.verbose_token`);
  }
  if (raw.signer === undefined) return { broker: b };
  const s = obj(raw.signer, `${p}.signer`);
  const signer: SignerConfig = {};
  const keyPath = optStr(s.key_path, `${p}.signer.key_path`);
  const certPath = optStr(s.cert_path, `${p}.signer.cert_path`);
  const certUrl = optStr(s.cert_url, `${p}.signer.cert_url`);
  if (keyPath) signer.key_path = keyPath;
  if (certPath) signer.cert_path = certPath;
  if (certUrl) signer.cert_url = certUrl;
  return { broker: b, signer };
}

function parseAs(raw: Record<string, unknown>): BuiltinAsConfig {
  const type = raw.type === undefined
    ? "coco_as_builtin"
    : str(raw.type, "attestation_service.type");
  if (type !== "coco_as_builtin" && type !== "CoCoASBuiltIn") {
    throw new TypeError(
      `attestation_service.type \`${type}\` is not supported by this trustee (only coco_as_builtin; the attestation service is built in)`,
    );
  }
  const rvps = raw.rvps_config === undefined
    ? {}
    : obj(raw.rvps_config, "attestation_service.rvps_config");
  if (rvps.type !== undefined && rvps.type !== "BuiltIn") {
    throw new TypeError(
      `attestation_service.rvps_config.type \`${
        String(rvps.type)
      }\` is not supported (only BuiltIn)`,
    );
  }
  const broker = raw.attestation_token_broker === undefined
    ? { broker: { ...DEFAULT_TOKEN_BROKER } }
    : parseBroker(
      obj(raw.attestation_token_broker, "attestation_service.attestation_token_broker"),
    );
  const out: BuiltinAsConfig = {
    type: "coco_as_builtin",
    timeout: raw.timeout === undefined ? 5 : num(raw.timeout, "attestation_service.timeout"),
    broker: broker.broker,
  };
  if (broker.signer) out.signer = broker.signer;
  const vc = raw.verifier_config === undefined
    ? {}
    : obj(raw.verifier_config, "attestation_service.verifier_config");
  if (vc.tpm_verifier !== undefined) {
    const t = obj(vc.tpm_verifier, "attestation_service.verifier_config.tpm_verifier");
    const p = "attestation_service.verifier_config.tpm_verifier";
    out.tpm_verifier = {
      trusted_ak_keys_dir: optStr(t.trusted_ak_keys_dir, `${p}.trusted_ak_keys_dir`) ??
        "/etc/tpm/trusted_ak_keys",
      max_trusted_ak_keys: t.max_trusted_ak_keys === undefined
        ? 100
        : num(t.max_trusted_ak_keys, `${p}.max_trusted_ak_keys`),
    };
  }
  return out;
}

function parseVault(o: Record<string, unknown>, i: number): VaultPluginConfig {
  const p = `plugins[${i}]`;
  if (o.verify_ssl === false) {
    throw new TypeError(
      `${p}.verify_ssl = false is refused: Vault certificates are always verified (add ca_certs instead)`,
    );
  }
  return {
    vault_url: str(o.vault_url, `${p}.vault_url`),
    token: str(o.token, `${p}.token`),
    mount_path: optStr(o.mount_path, `${p}.mount_path`) ?? "secret",
    ca_certs: o.ca_certs === undefined ? [] : strArray(o.ca_certs, `${p}.ca_certs`),
  };
}

function parsePlugins(raw: unknown): PluginConfig[] {
  if (raw === undefined) return [{ name: "resource", storage_backend_type: "kvstorage" }];
  if (!Array.isArray(raw)) throw new TypeError("[[plugins]] must be an array of tables");
  return raw.map((p, i): PluginConfig => {
    const o = obj(p, `plugins[${i}]`);
    const name = str(o.name, `plugins[${i}].name`);
    if (name === "resource" || name === "ResourceStorage") {
      const backend = o.storage_backend_type === undefined
        ? "kvstorage"
        : str(o.storage_backend_type, `plugins[${i}].storage_backend_type`);
      if (backend === "Vault") {
        return { name: "resource", storage_backend_type: "Vault", vault: parseVault(o, i) };
      }
      if (backend !== "kvstorage") {
        throw new TypeError(
          `plugins[${i}].storage_backend_type \`${backend}\` is not supported (kvstorage, Vault)`,
        );
      }
      return { name: "resource", storage_backend_type: "kvstorage" };
    }
    if (name === "sample") return { name: "sample", item: str(o.item, `plugins[${i}].item`) };
    throw new TypeError(`plugins[${i}].name \`${name}\` is not a known plugin (resource, sample)`);
  });
}

/** Resolves a parsed config document into a complete `KbsConfig`. */
export function parseKbsConfig(raw: unknown, file: string): KbsConfig {
  return inConfig(file, () => {
    const root = obj(raw, "config");
    for (const required of ["http_server", "admin"]) {
      if (!isJsonObject(root[required])) {
        throw new TypeError(`missing required section [${required}]`);
      }
    }
    const storage = parseStorageConfig(root.storage_backend ?? {}, file);
    // Differs from upstream: with a local-disk backend and no session_storage_type, sessions
    // stay in memory. They live minutes, a single host cannot share them anyway, and two
    // fsyncs per handshake cost most of a flow (README "Differences").
    let session: StorageConfig = storage.type === "LocalFs" || storage.type === "LocalJson"
      ? { type: "Memory" }
      : storage;
    if (root.session_storage_type !== undefined) {
      const st = str(root.session_storage_type, "session_storage_type");
      const backends = isJsonObject(root.storage_backend)
        ? root.storage_backend.backends
        : undefined;
      session = parseStorageConfig({ storage_type: st, ...(backends ? { backends } : {}) }, file);
    }
    return {
      file,
      http_server: parseHttpServer(section(root, "http_server")),
      admin: parseAdminConfig(root.admin, file),
      attestation_token: parseToken(section(root, "attestation_token")),
      attestation_service: parseAs(section(root, "attestation_service")),
      storage_backend: storage,
      session_storage: session,
      plugins: parsePlugins(root.plugins),
      limits: parseLimits(root.limits),
    };
  });
}

/** Loads and resolves a config file. */
export async function loadKbsConfig(path: string): Promise<KbsConfig> {
  return parseKbsConfig(await loadConfigFile(path), path);
}

export { ConfigError };
