/**
 * Test and bench support for real peers: a private `docker-registry` on 127.0.0.1 (port 0; the
 * bound address is read from its log), images built with umoci into an OCI layout, and pushes
 * with skopeo. Every process is stopped by its own handle.
 *
 * @module
 */
import { forEachLine } from "@coco/lib/lines";

/** A running docker-registry. */
export interface RealRegistry {
  host: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * An htpasswd line for docker-registry, which only accepts bcrypt: hashed by libcrypt through
 * `perl -e 'crypt(…)'` (Debian has no htpasswd binary without apache2-utils).
 */
export async function htpasswdLine(perl: string, user: string, pass: string): Promise<string> {
  const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const salt = Array.from(crypto.getRandomValues(new Uint8Array(22)), (b) => alphabet[b & 63])
    .join("");
  const hash = (await run(perl, ["-e", "print crypt($ARGV[0], $ARGV[1])", pass, `$2b$05$${salt}`]))
    .trim();
  if (!hash.startsWith("$2b$05$")) throw new Error(`perl crypt() made no bcrypt hash: ${hash}`);
  return `${user}:${hash}\n`;
}

/** Options of {@linkcode startRegistry}. */
export interface RegistryOptions {
  /** Require Basic auth against this htpasswd file (bcrypt lines, see {@linkcode htpasswdLine}). */
  htpasswd?: string;
}

/** Starts `docker-registry serve` with storage under `dir`. */
export async function startRegistry(
  bin: string,
  dir: string,
  options: RegistryOptions = {},
): Promise<RealRegistry> {
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(
    config,
    [
      "version: 0.1",
      "log: {level: info}",
      `storage: {filesystem: {rootdirectory: ${dir}/data}, delete: {enabled: true}}`,
      "http: {addr: 127.0.0.1:0, secret: test-secret}",
      "health: {storagedriver: {enabled: false}}",
      ...(options.htpasswd ? [`auth: {htpasswd: {realm: test, path: ${options.htpasswd}}}`] : []),
    ].join("\n") + "\n",
  );
  const child = new Deno.Command(bin, {
    args: ["serve", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let ready: (host: string) => void;
  const listening = new Promise<string>((r) => (ready = r));
  const onLine = (l: string) => {
    lines.push(l);
    const m = l.match(/listening on (127\.0\.0\.1:\d+)/);
    if (m) ready(m[1]!);
  };
  const io = Promise.all([forEachLine(child.stdout, onLine), forEachLine(child.stderr, onLine)]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await io;
  };
  const exited = child.status.then((s) => {
    throw new Error(`docker-registry exited (${s.code}) before listening:\n${lines.join("\n")}`);
  });
  try {
    const host = await Promise.race([listening, exited]);
    exited.catch(() => {});
    return { host, log: () => lines.join("\n"), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs a command and throws with its output when it fails. */
export async function run(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdin: "null" }).output();
  const d = new TextDecoder();
  if (!out.success) {
    throw new Error(`${bin} ${args.join(" ")} failed (${out.code}):\n${d.decode(out.stderr)}`);
  }
  return d.decode(out.stdout);
}

/** A step that changes the unpacked rootfs before `umoci repack` makes it a layer. */
export type LayerStep = (rootfs: string) => Promise<void>;

/**
 * Builds `layout:image` with umoci: one layer per step, then the run config. Returns the image
 * reference for skopeo (`oci:<layout>:<image>`).
 */
export async function buildWithUmoci(
  umoci: string,
  layout: string,
  image: string,
  steps: LayerStep[],
  config: string[],
): Promise<string> {
  const ref = `${layout}:${image}`;
  await run(umoci, ["init", "--layout", layout]);
  await run(umoci, ["new", "--image", ref]);
  for (const [i, step] of steps.entries()) {
    const bundle = `${layout}-bundle-${i}`;
    await run(umoci, ["unpack", "--image", ref, bundle]);
    await step(`${bundle}/rootfs`);
    await run(umoci, ["repack", "--image", ref, bundle]);
    await Deno.remove(bundle, { recursive: true });
  }
  await run(umoci, ["config", "--image", ref, ...config]);
  await run(umoci, ["gc", "--layout", layout]);
  return `oci:${ref}`;
}
