/**
 * {@linkcode ImagePuller}: the CDH's `api.ImagePullService/PullImage` (spec/guest.md §3.9) over
 * the guest/image pipeline. On the first pull it loads the `[image]` settings — policy.json,
 * registries.d (sigstore config), auth.json, registries.conf — from `kbs:///` resources (through
 * the CDH's own GetResource, i.e. after attestation), `file://` URLs or inline text, and keeps
 * them for the life of the process, as upstream does; a failed load is retried on the next pull.
 * Encrypted layers decrypt with the in-process `attestation-agent` key provider (the KEK is the
 * KBS resource named by the layer's `kid`). Pulls run one at a time.
 *
 * @module
 */
import { parseReference } from "@coco/lib/oci";
import type { Logger } from "@coco/lib/log";
import { ImageError } from "../image/errors.ts";
import { createBundle, type RootfsMode } from "../image/bundle/mod.ts";
import type { Decryptor, SignatureCheck } from "../image/layer/hooks.ts";
import { layerUnpacker } from "../image/layer/unpacker.ts";
import { pullImage } from "../image/pull.ts";
import { parseRegistriesConf, type RegistriesConf } from "../image/registries_conf.ts";
import { type AuthFile, parseAuthFile } from "../image/registry/auth_file.ts";
import { type ResourceLoader, resourceLoader } from "../image/signature/resources.ts";
import type { ImagePullConfig } from "./image_config.ts";

/** The event recorded in the AA's runtime measurement log after each pull (upstream's). */
export interface PullMeasurement {
  domain: "github.com/confidential-containers";
  operation: "PullImage";
  /** `{"image":"<image_url>","digest":"<manifest digest>"}` */
  content: string;
}

/** Dependencies of {@linkcode ImagePuller}. */
export interface ImagePullerOptions {
  config: ImagePullConfig;
  /** The CDH's GetResource (`kbs:///` URIs, after attestation). */
  getResource: (uri: string) => Promise<Uint8Array>;
  logger: Logger;
  /** Records each pull in the AA's event log; a failure fails the pull (as upstream). */
  measure?: (event: PullMeasurement) => Promise<void>;
  /** Rootfs construction (default `auto`: overlay mount, else a merged copy). */
  rootfsMode?: RootfsMode;
  /** Registry fetch (tests); default `fetch`, with `extraRootCertificates` when configured. */
  fetch?: typeof fetch;
}

/** What one pull produced. */
export interface ImagePullOutcome {
  /** The platform manifest digest (what PullImage returns). */
  manifestDigest: string;
  configDigest: string;
  rootfs: string;
}

interface Setup {
  verifySignature?: SignatureCheck;
  decrypt: Decryptor;
  registriesConf?: RegistriesConf;
  auth?: AuthFile;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Checks the PullImage request fields; throws a TypeError naming the bad one. */
export function checkPullRequest(imageUrl: string, bundlePath: string): void {
  if (!imageUrl) throw new TypeError("image_url is empty");
  parseReference(imageUrl);
  if (!bundlePath.startsWith("/") || bundlePath === "/") {
    throw new TypeError(`bundle_path \`${bundlePath}\` must be an absolute directory path`);
  }
  if (bundlePath.split("/").some((p) => p === "..")) {
    throw new TypeError(`bundle_path \`${bundlePath}\` must not contain .. components`);
  }
}

/** Pulls images into bundles with the CDH's configuration. */
export class ImagePuller {
  readonly #o: ImagePullerOptions;
  readonly #load: ResourceLoader;
  #setup: Promise<Setup> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #client: Deno.HttpClient | undefined;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: ImagePullerOptions) {
    this.#o = options;
    this.#load = resourceLoader({ getResource: options.getResource });
    const certs = options.config.extraRootCertificates;
    if (!options.fetch && certs.length > 0) {
      const client = Deno.createHttpClient({ caCerts: certs });
      this.#client = client;
      this.#fetch = (input, init) => fetch(input, { ...init, client });
    } else this.#fetch = options.fetch;
  }

  /** Pulls `imageUrl` into `<bundlePath>/rootfs` + `config.json`; one pull at a time. */
  pull(imageUrl: string, bundlePath: string): Promise<ImagePullOutcome> {
    const run = this.#queue.then(() => this.#pull(imageUrl, bundlePath));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #pull(imageUrl: string, bundlePath: string): Promise<ImagePullOutcome> {
    checkPullRequest(imageUrl, bundlePath);
    const setup = await this.#ensureSetup();
    const c = this.#o.config;
    const result = await pullImage(imageUrl, {
      workDir: c.workDir,
      unpack: layerUnpacker(),
      decrypt: setup.decrypt,
      verifySignature: setup.verifySignature,
      registriesConf: setup.registriesConf,
      auth: setup.auth,
      concurrency: c.maxConcurrentLayerDownloadsPerImage,
      logger: this.#o.logger,
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
    });
    const bundle = await createBundle(bundlePath, {
      layers: result.layers.map((l) => l.path),
      config: result.config,
      mode: this.#o.rootfsMode ?? "auto",
      scratchDir: `${c.workDir}/overlay`,
    });
    this.#o.logger.info("image pulled", {
      image: imageUrl,
      source: result.source,
      manifest: result.manifestDigest,
      bundle: bundlePath,
      rootfs: bundle.mode,
    });
    await this.#o.measure?.({
      domain: "github.com/confidential-containers",
      operation: "PullImage",
      content: JSON.stringify({ image: imageUrl, digest: result.manifestDigest }),
    });
    return {
      manifestDigest: result.manifestDigest,
      configDigest: result.configDigest,
      rootfs: bundle.rootfs,
    };
  }

  #ensureSetup(): Promise<Setup> {
    this.#setup ??= this.#loadSetup().catch((err) => {
      this.#setup = undefined;
      throw err;
    });
    return this.#setup;
  }

  async #text(uri: string | undefined, inline: string | undefined) {
    return uri
      ? { name: uri, text: text(await this.#load(uri)) }
      : inline !== undefined
      ? { name: "inline", text: inline }
      : undefined;
  }

  async #loadSetup(): Promise<Setup> {
    const c = this.#o.config;
    const out: Partial<Setup> = {};
    const policy = await this.#text(c.imageSecurityPolicyUri, c.imageSecurityPolicy);
    // The signature and ocicrypt modules cost tens of MB: loaded only on the first pull.
    const w = await import("../image/hooks_wiring.ts");
    if (policy) {
      const sig = await import("../image/signature/mod.ts");
      const lookaside = await this.#text(c.sigstoreConfigUri, c.sigstoreConfig);
      out.verifySignature = w.signatureCheck(
        sig.parsePolicy(new TextEncoder().encode(policy.text)),
        {
          loadResource: this.#load,
          ...(lookaside ? { registriesD: sig.parseRegistriesD([lookaside]) } : {}),
        },
      );
    } else {
      this.#o.logger.warn("no image_security_policy: every image is accepted unsigned");
    }
    if (c.registryConfig) out.registriesConf = c.registryConfig;
    else if (c.registryConfigurationUri) {
      const uri = c.registryConfigurationUri;
      out.registriesConf = parseRegistriesConf(text(await this.#load(uri)), uri);
    }
    const authUri = c.authenticatedRegistryCredentialsUri;
    if (authUri) out.auth = parseAuthFile(parseJson(await this.#load(authUri), authUri), authUri);
    const { ATTESTATION_AGENT, attestationAgentUnwrapper } = await import(
      "../image/ocicrypt/mod.ts"
    );
    out.decrypt = w.decryptorFor({
      keyProviders: { [ATTESTATION_AGENT]: attestationAgentUnwrapper(this.#o.getResource) },
    });
    return out as Setup;
  }

  /** Releases the HTTP client made for extra root certificates. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}

function parseJson(bytes: Uint8Array, source: string): unknown {
  try {
    return JSON.parse(text(bytes));
  } catch (err) {
    throw new ImageError(
      "invalid_config_file",
      `Invalid auth file ${source}: not JSON (${(err as Error).message})`,
      { cause: err },
    );
  }
}
