/**
 * Process harness for end-to-end tests and the demo: start real child processes, wait for a
 * readiness line on stdout (never sleep), keep their logs for diagnostics, stop them by PID.
 */
export interface Started {
  child: Deno.ChildProcess;
  /** The readiness line's match. */
  match: RegExpMatchArray;
  /** Everything the process wrote so far (stdout + stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  args: string[];
  ready: RegExp;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  name?: string;
}

async function pump(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  if (buf) onLine(buf);
}

/** Starts `deno <args>` and resolves once a stdout line matches `ready`. */
export function startDeno(opts: StartOptions): Promise<Started> {
  const child = new Deno.Command(Deno.execPath(), {
    args: opts.args,
    env: { NO_COLOR: "1", ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let resolveReady: (m: RegExpMatchArray) => void;
  const ready = new Promise<RegExpMatchArray>((r) => (resolveReady = r));
  const out = pump(child.stdout, (l) => {
    lines.push(l);
    const m = l.match(opts.ready);
    if (m) resolveReady(m);
  });
  const err = pump(child.stderr, (l) => lines.push(l));
  const io = Promise.all([out, err]);
  const stop = async () => {
    await terminate(child);
    await io;
  };
  const log = () => lines.join("\n");
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${opts.name ?? opts.args.join(" ")} not ready after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const exited = child.status.then((s) => {
    throw new Error(
      `${opts.name ?? opts.args.join(" ")} exited with ${s.code} before it was ready`,
    );
  });
  return Promise.race([ready, timeout, exited]).then(
    (match) => {
      clearTimeout(timer);
      exited.catch(() => {});
      return { child, match, log, stop };
    },
    async (e) => {
      clearTimeout(timer);
      exited.catch(() => {});
      await stop();
      throw new Error(`${(e as Error).message}\n--- log ---\n${log()}`);
    },
  );
}

/** Runs `deno <args>` to completion and returns its output. */
export async function runDeno(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/**
 * Creates the admin key pair and token a trustee test needs, as an operator would with
 * `trustee keygen` + `trustee token`: `<work>/admin.key(.pub)`, the public key again as
 * `<work>/kbs.pem` (the name upstream's kbs.toml uses) and `<work>/admin-token`.
 */
export async function makeAdminCredentials(trusteeEntry: string, work: string): Promise<string> {
  const keygen = await runDeno(["run", "-A", trusteeEntry, "keygen", "-f", `${work}/admin.key`]);
  if (keygen.code !== 0) throw new Error(`trustee keygen failed: ${keygen.stderr}`);
  await Deno.copyFile(`${work}/admin.key.pub`, `${work}/kbs.pem`);
  const minted = await runDeno([
    "run",
    "-A",
    trusteeEntry,
    "token",
    "-k",
    `${work}/admin.key`,
    "--issuer",
    "issuer",
    "--audience",
    "kbs",
  ]);
  if (minted.code !== 0) throw new Error(`trustee token failed: ${minted.stderr}`);
  const token = minted.stdout.trim();
  await Deno.writeTextFile(`${work}/admin-token`, token);
  return token;
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still running; resolves once it has exited. */
export async function terminate(child: Deno.ChildProcess, graceMs = 5000): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}
