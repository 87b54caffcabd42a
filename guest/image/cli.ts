/**
 * `coco-guest pull IMAGE --dir DIR …`: pulls an image into the layer store and creates a bundle
 * (rootfs + config.json) in DIR. Progress goes to stderr (bars on a TTY, JSON lines otherwise);
 * the result is one JSON line on stdout.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { parsePlatform } from "@coco/lib/oci";
import { createBundle } from "./bundle/mod.ts";
import { layerUnpacker } from "./layer/unpacker.ts";
import { jsonProgress, type ProgressSink, ttyProgress } from "./progress.ts";
import { DEFAULT_GC_EVERY_BYTES } from "./layer/memory.ts";
import { DEFAULT_CONCURRENCY, pullImage } from "./pull.ts";
import { loadRegistriesConf } from "./registries_conf.ts";
import { loadAuthFile } from "./registry/auth_file.ts";

/** image-rs' default work directory. */
export const DEFAULT_WORK_DIR = "/run/kata-containers/image";

const collect = (v: string, prev: string[]) => [...prev, v];
const encoder = new TextEncoder();
const stderr = (s: string) => void Deno.stderr.writeSync(encoder.encode(s));

function progressSink(kind: string): ProgressSink | undefined {
  if (kind === "none") return undefined;
  const tty = kind === "tty" || (kind === "auto" && Deno.stderr.isTerminal());
  return tty ? ttyProgress(stderr) : jsonProgress(stderr);
}

/**
 * Decryption and signature hooks, loaded only when asked for: openpgp, jose and friends cost
 * tens of MB of guest memory that a plain pull does not need.
 */
async function hooks(keys: string[], policy?: string, registriesD?: string) {
  if (keys.length === 0 && !policy) return {};
  const w = await import("./hooks_wiring.ts");
  return {
    decrypt: await w.decryptorFromKeys(keys),
    verifySignature: policy ? await w.signatureCheckFromPolicy(policy, registriesD) : undefined,
  };
}

/** The `pull` subcommand. */
export function pullCommand() {
  return new Command("pull")
    .description("pull an image (verify, decrypt, unpack) and create a container bundle")
    .argument("<image>", "image reference (busybox, host:5000/repo:tag, repo@sha256:…)")
    .option("--dir <dir>", "bundle directory (rootfs + config.json)")
    .option("--bundle <dir>", "same as --dir")
    .option("--work-dir <dir>", "layer store directory", DEFAULT_WORK_DIR)
    .option("--registries-conf <file>", "registries.conf (mirrors, remapping, blocked, insecure)")
    .option("--registries <file>", "same as --registries-conf")
    .option("--auth <file>", "auth.json with registry credentials")
    .option("--platform <os/arch[/variant]>", "platform to select from an index")
    .option("--policy <file>", "containers policy.json to enforce (signatures)")
    .option("--registries-d <dir>", "registries.d directory (signature lookaside)")
    .option(
      "--decryption-key <spec>",
      "JWE private key file[:password] or provider:<name>",
      collect,
      [] as string[],
    )
    .addOption(
      new Option("--rootfs <mode>", "rootfs construction").choices(
        ["auto", "overlay", "copy"] as const,
      ).default("auto" as const),
    )
    .option("--concurrency <n>", "layers processed at once", String(DEFAULT_CONCURRENCY))
    .option(
      "--gc-every <MiB>",
      "run a minor V8 GC every N MiB of layer data to keep RSS flat (0: never)",
      String(DEFAULT_GC_EVERY_BYTES >> 20),
    )
    .addOption(
      new Option("--progress <kind>", "progress output").choices(
        ["auto", "tty", "json", "none"] as const,
      ).default("auto" as const),
    )
    .option("--pull-only", "only pull into the layer store (no bundle)")
    .action(async (image, o) => {
      const dir = o.dir ?? o.bundle;
      if (!dir && !o.pullOnly) {
        throw new Error("pull: --dir <dir> is required (or --pull-only)");
      }
      const conf = o.registriesConf ?? o.registries;
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
        throw new Error(
          `pull: --concurrency must be an integer from 1 to 64 (got ${o.concurrency})`,
        );
      }
      const gcEvery = Number(o.gcEvery);
      if (!Number.isInteger(gcEvery) || gcEvery < 0 || gcEvery > 4096) {
        throw new Error(`pull: --gc-every must be an integer from 0 to 4096 (got ${o.gcEvery})`);
      }
      const result = await pullImage(image, {
        workDir: o.workDir,
        unpack: layerUnpacker(),
        ...(await hooks(o.decryptionKey, o.policy, o.registriesD)),
        registriesConf: conf ? await loadRegistriesConf(conf) : undefined,
        auth: o.auth ? await loadAuthFile(o.auth) : undefined,
        platform: o.platform ? parsePlatform(o.platform) : undefined,
        concurrency,
        gcEveryBytes: gcEvery * 2 ** 20,
        progress: progressSink(o.progress),
      });
      let bundle: { rootfs: string; mode: string } | undefined;
      if (dir && !o.pullOnly) {
        const b = await createBundle(dir, {
          layers: result.layers.map((l) => l.path),
          config: result.config,
          mode: o.rootfs,
          scratchDir: `${o.workDir}/overlay`,
        });
        bundle = { rootfs: b.rootfs, mode: b.mode };
      }
      console.log(JSON.stringify({
        reference: result.reference,
        source: result.source,
        digest: result.digest,
        manifest_digest: result.manifestDigest,
        config_digest: result.configDigest,
        layers: result.layers.map((l) => ({
          digest: l.digest,
          diff_id: l.diffId,
          reused: l.reused,
        })),
        ...(bundle ? { bundle: { dir, ...bundle } } : {}),
      }));
    });
}
