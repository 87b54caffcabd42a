/**
 * Starts a private swtpm (software TPM 2.0) on unix sockets in a temporary directory, for
 * development and tests: the TPM client talks to `socket`; `tpm2-tools` use
 * `TPM2TOOLS_TCTI=swtpm:path=<socket>` (they expect the control socket at `<socket>.ctrl`).
 * Readiness: the sockets appearing (file-system events), then a successful connect — swtpm
 * creates the socket file at bind() and accepts only after listen(), so a connect may be refused
 * for a moment; it is retried (bounded) until swtpm accepts.
 */
import { TpmError } from "./errors.ts";

/** A running swtpm. */
export interface Swtpm {
  /** Command socket path. */
  socket: string;
  /** State directory (removed by `stop`). */
  dir: string;
  pid: number;
  /** Stops the process by PID, waits for it, removes the state directory. */
  stop(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

/**
 * Spawns `swtpm socket --tpm2` with `--flags not-need-init` (the client sends TPM2_Startup).
 * `swtpm` is the executable path.
 */
export async function startSwtpm(swtpm = "swtpm"): Promise<Swtpm> {
  const dir = await Deno.makeTempDir({ prefix: "coco-swtpm-" });
  const socket = `${dir}/tpm.sock`;
  const ctrl = `${socket}.ctrl`;
  const watcher = Deno.watchFs(dir, { recursive: false });
  const child = new Deno.Command(swtpm, {
    args: [
      "socket",
      "--tpm2",
      "--tpmstate",
      `dir=${dir}`,
      "--server",
      `type=unixio,path=${socket}`,
      "--ctrl",
      `type=unixio,path=${ctrl}`,
      "--flags",
      "not-need-init",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const errText = (async () => {
    let t = "";
    for await (const s of stderr) t += s;
    return t;
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await errText;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const ready = (async () => {
    if (await exists(socket) && await exists(ctrl)) return;
    for await (const _ of watcher) {
      if (await exists(socket) && await exists(ctrl)) return;
    }
  })();
  const exited = child.status.then(async (s) => {
    throw new TpmError(
      "transport",
      `swtpm exited with ${s.code} before its sockets appeared: ${(await errText).trim()}`,
    );
  });
  try {
    await Promise.race([ready, exited]);
  } catch (err) {
    watcher.close();
    await stop();
    throw err;
  }
  watcher.close();
  await ready.catch(() => {});
  exited.catch(() => {});
  try {
    await Promise.race([accepting(socket), exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, dir, pid: child.pid, stop };
}

async function accepting(socket: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      (await Deno.connect({ transport: "unix", path: socket })).close();
      return;
    } catch (err) {
      if (!(err instanceof Deno.errors.ConnectionRefused) || attempt >= 400) {
        throw new TpmError("transport", `swtpm does not accept on ${socket}: ${err}`, {
          cause: err,
        });
      }
      await new Promise((ok) => setTimeout(ok, 5));
    }
  }
}
