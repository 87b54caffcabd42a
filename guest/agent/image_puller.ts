/**
 * The agent's in-guest image puller for `image_guest_pull` storages: the CDH's
 * {@linkcode ImagePuller} (guest/cdh/image_pull.ts — guest/image's pull pipeline with the
 * `[image]` settings of cdh.toml: policy, sigstore config, auth, registries, extra roots,
 * `attestation-agent` layer keys) run **in the agent's process**, with `kbs:///` resources
 * fetched from the CDH's `GetResource`.
 *
 * Upstream's agent asks the CDH process to pull (`ImagePullService`); here the image never
 * crosses a socket, while the configuration and its semantics stay the CDH's. Pulls are
 * serialized by the puller, as in the CDH.
 */
import { parse as parseToml } from "smol-toml";
import type { Logger } from "@coco/lib/log";
import { type ImagePullConfig, parseImagePullConfig } from "../cdh/mod.ts";
import { ImagePuller } from "../cdh/image_pull.ts";
import { agentError } from "./errors.ts";
import { mountPoints } from "./pid1.ts";
import type { ImagePuller as AgentImagePuller } from "./storage/mod.ts";

/** The `[image]` table of a cdh.toml text (absent text or table → defaults). */
export function imagePullConfigFromCdhToml(
  cdhToml: string | undefined,
  where: string,
): ImagePullConfig {
  try {
    const doc: Record<string, unknown> = cdhToml === undefined ? {} : parseToml(cdhToml);
    return parseImagePullConfig(doc.image);
  } catch (err) {
    throw agentError("invalid-argument", `${where}: ${(err as Error).message}`, err);
  }
}

/** What the puller needs besides its config. */
export interface GuestPullerDeps {
  config: ImagePullConfig;
  /** CDH GetResource for `kbs:///` URIs; absent → such URIs fail with a clear error. */
  getResource?: (uri: string) => Promise<Uint8Array>;
  logger: Logger;
  fetch?: typeof fetch;
}

/** An agent {@linkcode AgentImagePuller} over the CDH's ImagePuller. */
export function guestImagePuller(d: GuestPullerDeps): AgentImagePuller {
  const puller = new ImagePuller({
    config: d.config,
    getResource: d.getResource ??
      ((uri) => Promise.reject(agentError("unavailable", `No CDH socket to fetch ${uri}`))),
    logger: d.logger,
    ...(d.fetch ? { fetch: d.fetch } : {}),
  });
  return {
    async pullImage(ref, bundleDir) {
      const out = await puller.pull(ref, bundleDir);
      const mounts = await Deno.readTextFile("/proc/self/mountinfo").catch(() => "");
      return { rootfs: out.rootfs, mounted: mountPoints(mounts).has(out.rootfs) };
    },
  };
}
