/**
 * {@linkcode ConfidentialDataHub}: the transport-agnostic CDH core — GetResource, UnsealSecret,
 * PullImage and start-up credential provisioning. Every failure is a {@linkcode CdhError} naming
 * the input.
 */
import { dirname } from "node:path";
import { CodedError } from "@coco/lib/errors";
import { parseResourceUri } from "@coco/lib/kbs";
import type { Logger } from "@coco/lib/log";
import type { Credential } from "./config.ts";
import { type ImagePullConfig, parseImagePullConfig } from "./image_config.ts";
import type { ImagePuller, ImagePullerOptions } from "./image_pull.ts";
import type { Kbc } from "./kbc.ts";
import { unsealSecret } from "./sealed_secret.ts";

/** CDH operation failure; the ttrpc layer prefixes `[CDH] [ERROR]: `. */
export class CdhError extends CodedError<"get-resource" | "unseal" | "provision" | "pull-image"> {}

/** Dependencies of the hub. */
export interface HubOptions {
  kbc: Kbc;
  skipSealedSecretVerification: boolean;
  logger: Logger;
  /** Directory of file `kid`s for sealed secrets (default upstream's). */
  sealedSecretKeyDir?: string;
  /** The `[image]` section for PullImage (default: image-rs defaults, no policy). */
  image?: ImagePullConfig;
  /** Records each pulled image in the AA's runtime measurement log. */
  measure?: ImagePullerOptions["measure"];
  /** Pull internals tests may replace (registry fetch, rootfs mode). */
  imagePull?: Pick<ImagePullerOptions, "fetch" | "rootfsMode">;
}

/** The CDH core. */
export class ConfidentialDataHub {
  readonly #opts: HubOptions;
  #puller: Promise<ImagePuller> | undefined;

  constructor(options: HubOptions) {
    this.#opts = options;
  }

  /** Fetches the resource named by the `kbs://` URI `uri`. */
  async getResource(uri: string): Promise<Uint8Array> {
    try {
      return await this.#opts.kbc.getResource(parseResourceUri(uri));
    } catch (err) {
      throw new CdhError("get-resource", `Cannot get resource ${uri}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Unseals a `sealed.…` secret. */
  async unsealSecret(secret: Uint8Array): Promise<Uint8Array> {
    try {
      return await unsealSecret(secret, {
        getResource: (uri) => this.getResource(uri),
        skipVerification: this.#opts.skipSealedSecretVerification,
        ...(this.#opts.sealedSecretKeyDir ? { keyDir: this.#opts.sealedSecretKeyDir } : {}),
      });
    } catch (err) {
      throw new CdhError("unseal", (err as Error).message, { cause: err });
    }
  }

  /**
   * Pulls `imageUrl` into `<bundlePath>/rootfs` and `<bundlePath>/config.json` with the `[image]`
   * configuration; returns the platform manifest digest. Pulls run one at a time.
   */
  async pullImage(imageUrl: string, bundlePath: string): Promise<string> {
    try {
      const puller = await (this.#puller ??= this.#newPuller());
      return (await puller.pull(imageUrl, bundlePath)).manifestDigest;
    } catch (err) {
      throw new CdhError(
        "pull-image",
        `Cannot pull image ${imageUrl} into ${bundlePath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async #newPuller(): Promise<ImagePuller> {
    // The pull pipeline is loaded on the first PullImage only: most CDHs never pull.
    const { ImagePuller } = await import("./image_pull.ts");
    const o = this.#opts;
    return new ImagePuller({
      config: o.image ?? parseImagePullConfig(undefined),
      getResource: (uri) => this.getResource(uri),
      logger: o.logger,
      ...(o.measure ? { measure: o.measure } : {}),
      ...o.imagePull,
    });
  }

  /** Fetches each credential and writes it to its path (start-up; any failure aborts). */
  async provisionCredentials(credentials: readonly Credential[]): Promise<void> {
    for (const c of credentials) {
      const bytes = await this.getResource(c.resourceUri);
      try {
        await Deno.mkdir(dirname(c.path), { recursive: true });
        await Deno.writeFile(c.path, bytes, { mode: 0o600 });
      } catch (err) {
        throw new CdhError(
          "provision",
          `Cannot write credential ${c.resourceUri} to ${c.path}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.#opts.logger.info("credential provisioned", { uri: c.resourceUri, path: c.path });
    }
  }

  /** Releases the KBC (and the image puller's HTTP client). */
  close(): void {
    this.#opts.kbc.close();
    this.#puller?.then((p) => p.close(), () => {});
  }
}
