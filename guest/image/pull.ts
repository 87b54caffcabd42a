/**
 * `pullImage()`: resolves the sources for a reference (registries.conf), and at the first source
 * that works fetches and verifies manifest and config, checks the signature policy, and runs the
 * layers through the streaming pipeline into the content-addressed layer store, several at a time.
 *
 * @module
 */
import {
  type Digest,
  hostPlatform,
  type ImageConfig,
  type ImageReference,
  parseReference,
  type Platform,
} from "@coco/lib/oci";
import { type Logger, nullLogger } from "@coco/lib/log";
import { ImageError } from "./errors.ts";
import type { Decryptor, SignatureCheck, Unpacker } from "./layer/hooks.ts";
import { processLayer } from "./layer/pipeline.ts";
import { LayerStore } from "./layer/store.ts";
import { DEFAULT_GC_EVERY_BYTES, garbageBudget } from "./layer/memory.ts";
import type { ProgressSink } from "./progress.ts";
import {
  DEFAULT_REGISTRIES_CONF,
  type PullSource,
  pullSources,
  type RegistriesConf,
} from "./registries_conf.ts";
import { type AuthFile, lookupCredentials } from "./registry/auth_file.ts";
import { TokenCache } from "./registry/auth.ts";
import { endpointHost, RegistryClient } from "./registry/client.ts";
import { signatureAccess } from "./registry/signature_access.ts";
import { type PlannedLayer, type ResolvedImage, resolveImage } from "./resolve.ts";

/** Default number of layers processed at once (image-rs `max_concurrent_layer_downloads_per_image`). */
export const DEFAULT_CONCURRENCY = 3;

/** Options of {@link pullImage}. */
export interface PullOptions {
  /** Layer store root (image-rs `work_dir`). */
  workDir: string;
  unpack: Unpacker;
  decrypt?: Decryptor | undefined;
  /** Signature policy; without one every image is accepted (say so in your config). */
  verifySignature?: SignatureCheck | undefined;
  registriesConf?: RegistriesConf | undefined;
  auth?: AuthFile | undefined;
  platform?: Platform | undefined;
  concurrency?: number | undefined;
  /**
   * Ask V8 for a GC after this many decompressed bytes (default 32 MiB; 0 disables). Keeps peak
   * RSS flat with default V8 flags; see layer/memory.ts.
   */
  gcEveryBytes?: number | undefined;
  fetch?: typeof fetch;
  progress?: ProgressSink | undefined;
  logger?: Logger | undefined;
  now?: () => number;
}

/** One layer of a pulled image, bottom first. */
export interface PulledLayer {
  digest: Digest;
  diffId: Digest;
  path: string;
  reused: boolean;
}

/** What {@link pullImage} returns. */
export interface PullResult {
  /** The reference as normalised from the input. */
  reference: string;
  /** The reference actually fetched (a mirror or remapped location). */
  source: string;
  /** Digest the reference names (the index for multi-platform images). */
  digest: Digest;
  manifestDigest: Digest;
  configDigest: Digest;
  config: ImageConfig;
  layers: PulledLayer[];
}

/** Runs `tasks` with at most `limit` at once; results keep their order. */
async function bounded<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  let failed: unknown = undefined;
  const worker = async () => {
    while (next < tasks.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await tasks[i]!();
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

async function fetchLayers(
  image: ResolvedImage,
  client: RegistryClient,
  store: LayerStore,
  o: PullOptions,
): Promise<PulledLayer[]> {
  const budget = garbageBudget(o.gcEveryBytes ?? DEFAULT_GC_EVERY_BYTES);
  // One job per distinct diff_id; duplicates share its result.
  const unique = new Map<Digest, PlannedLayer>();
  for (const l of image.layers) if (!unique.has(l.diffId)) unique.set(l.diffId, l);
  const emit = (
    l: PlannedLayer,
    status: "waiting" | "downloading" | "reused" | "verifying" | "done" | "failed",
    current: number,
  ) =>
    o.progress?.({
      event: "layer",
      layer: l.descriptor.digest,
      status,
      current,
      total: l.descriptor.size,
    });
  for (const l of unique.values()) emit(l, "waiting", 0);
  const jobs = [...unique.values()].map((l) => async (): Promise<[Digest, string, boolean]> => {
    const present = await store.has(l.diffId);
    // Plain layers already stored are reused; encrypted ones are still fetched and decrypted
    // (not unpacked again), so the key stays required for every pull.
    if (present && !l.kind.encrypted) {
      emit(l, "reused", l.descriptor.size);
      return [l.diffId, store.path(l.diffId), true];
    }
    try {
      const path = await processLayer({
        descriptor: l.descriptor,
        kind: l.kind,
        diffId: l.diffId,
        open: () => client.blob(l.descriptor, (n) => emit(l, "downloading", n)),
        store,
        unpack: o.unpack,
        decrypt: o.decrypt,
        verifyOnly: present,
        onBytes: budget,
      });
      emit(l, "done", l.descriptor.size);
      return [l.diffId, path, present];
    } catch (e) {
      emit(l, "failed", 0);
      throw e;
    }
  });
  const done = new Map(
    (await bounded(o.concurrency ?? DEFAULT_CONCURRENCY, jobs)).map(([d, p, r]) => [d, { p, r }]),
  );
  return image.layers.map((l) => {
    const hit = done.get(l.diffId)!;
    return { digest: l.descriptor.digest, diffId: l.diffId, path: hit.p, reused: hit.r };
  });
}

async function pullFrom(
  ref: ImageReference,
  source: PullSource,
  store: LayerStore,
  tokens: TokenCache,
  o: PullOptions,
): Promise<PullResult> {
  const src = source.reference;
  const client = new RegistryClient(
    { host: endpointHost(src.registry), insecure: source.insecure },
    src.repository,
    {
      credentials: o.auth ? lookupCredentials(o.auth, src.registry, src.repository) : undefined,
      tokenCache: tokens,
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.now ? { now: o.now } : {}),
    },
  );
  const image = await resolveImage(client, src, o.platform ?? hostPlatform());
  o.progress?.({
    event: "resolved",
    image: ref.toString(),
    source: src.toString(),
    manifest: image.manifestDigest,
    config: image.configDigest,
    layers: image.layers.length,
  });
  if (o.verifySignature) {
    try {
      await o.verifySignature({
        reference: src,
        requested: ref,
        manifestDigest: image.manifestDigest,
        manifestBytes: image.manifestBytes,
        ...(image.topDigest !== image.manifestDigest ? { indexDigest: image.topDigest } : {}),
        registry: signatureAccess(client, src.name),
      });
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError(
        "signature_rejected",
        `Image ${ref.toString()} rejected by the signature policy: ${
          e instanceof Error ? e.message : e
        }`,
        { cause: e },
      );
    }
  }
  const layers = await fetchLayers(image, client, store, o);
  return {
    reference: ref.toString(),
    source: src.toString(),
    digest: image.topDigest,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    config: image.config,
    layers,
  };
}

/**
 * Pulls `image` into the layer store under `options.workDir`. Sources are tried in order (mirrors
 * first); the first that succeeds wins. With one source its error is thrown as is; with several,
 * a `pull_failed` error lists every attempt.
 */
export async function pullImage(image: string, options: PullOptions): Promise<PullResult> {
  const logger = options.logger ?? nullLogger;
  const started = (options.now ?? Date.now)();
  const ref = parseReference(image);
  const sources = pullSources(options.registriesConf ?? DEFAULT_REGISTRIES_CONF, ref, image);
  const store = new LayerStore(options.workDir);
  await store.init();
  const tokens = new TokenCache();
  const errors: string[] = [];
  let last: unknown;
  for (const source of sources) {
    try {
      const result = await pullFrom(ref, source, store, tokens, options);
      options.progress?.({
        event: "done",
        image: ref.toString(),
        manifest: result.manifestDigest,
        ms: (options.now ?? Date.now)() - started,
      });
      return result;
    } catch (e) {
      last = e;
      const msg = e instanceof Error ? e.message : String(e);
      errors.push(`${source.reference.toString()}: ${msg}`);
      if (sources.length > 1) {
        logger.warn("pull attempt failed", { source: source.reference.toString(), error: msg });
      }
    }
  }
  if (sources.length === 1) throw last;
  throw new ImageError(
    "pull_failed",
    `Cannot pull ${ref.toString()}; every source failed:\n  ${errors.join("\n  ")}`,
    { cause: last },
  );
}
