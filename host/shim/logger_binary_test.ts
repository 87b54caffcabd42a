import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import { loadSys } from "@coco/lib/sys";
import { ShimError } from "./errors.ts";
import { BinaryLogger, parseBinaryUri } from "./logger_binary.ts";
import { type AgentStreams, ProcessIO } from "./stdio.ts";

loadSys();
const enc = new TextEncoder();

/** A logger that records its args and env, signals ready, then copies fds 3 and 4 to files. */
const RECORDING_LOGGER = `#!/bin/sh
PATH=/usr/bin:/bin
out=$(dirname "$0")
printf '%s\\n' "$@" > "$out/args"
printf 'id=%s ns=%s extra=%s path=%s\\n' "$CONTAINER_ID" "$CONTAINER_NAMESPACE" "$EXTRA" "$HOME" > "$out/env"
echo ready > "$out/ready"
exec 5>&-
cat <&3 > "$out/stdout" &
cat <&4 > "$out/stderr"
wait
`;

async function script(dir: string, text: string): Promise<string> {
  const path = join(dir, "logger.sh");
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  return path;
}

function agentWith(out: Record<"stdout" | "stderr", string[]>, onRead?: () => void): AgentStreams {
  return {
    write: (d) => Promise.resolve(d.length),
    read: (which) => {
      onRead?.();
      return Promise.resolve(enc.encode(out[which].shift() ?? ""));
    },
  };
}

const bad = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof ShimError && e.code === code && re.test(e.message);

Deno.test("parseBinaryUri() turns the query into key/value args and env.* into environment", () => {
  assert.deepEqual(
    parseBinaryUri("binary:///usr/bin/log%20ger?--driver=awslogs&-x=1&env.LEVEL=debug&-x=2&flag"),
    {
      path: "/usr/bin/log ger",
      args: ["--driver", "awslogs", "-x", "1", "flag", ""],
      env: { LEVEL: "debug" },
    },
  );
  assert.deepEqual(parseBinaryUri("binary:///bin/l?env.CONTAINER_ID=spoof"), {
    path: "/bin/l",
    args: [],
    env: {},
  });
});

Deno.test("parseBinaryUri() refuses hosts, relative paths, bad env names and NUL", () => {
  for (
    const [uri, re] of [
      ["binary://host/bin/l", /not host host/],
      ["binary:relative/l", /must be absolute/],
      ["binary:///bin/l?env.1BAD=x", /env\.1BAD is not a valid environment name/],
      ["binary:///bin/l?a=%00", /cannot hold NUL/],
      ["binary:///bin/%00l", /must be absolute/],
      ["binary:///bin/%E0%A4%A", /not valid percent-encoding/],
      ["fifo:///x", /not a binary:\/\/ URI/],
    ] as const
  ) {
    assert.throws(() => parseBinaryUri(uri), bad("bad-request", re), uri);
  }
});

Deno.test("ProcessIO with a binary:// stdout feeds stdout and stderr to the logger on fds 3 and 4", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logger = await script(dir, RECORDING_LOGGER);
    const uri = `binary://${logger}?--tag=t1&env.EXTRA=yes`;
    const io = await ProcessIO.open(
      { stdin: "", stdout: uri, stderr: uri, terminal: false },
      nullLogger,
      { containerId: "c1", namespace: "ns1" },
    );
    let readBeforeReady = false;
    io.start(agentWith({ stdout: ["hello ", "world\n"], stderr: ["oops\n"] }, () => {
      try {
        Deno.statSync(join(dir, "ready"));
      } catch {
        readBeforeReady = true;
      }
    }));
    await io.outputDone; // includes the logger's exit
    assert.equal(readBeforeReady, false, "no output is copied before the logger closed fd 5");
    assert.equal(await Deno.readTextFile(join(dir, "stdout")), "hello world\n");
    assert.equal(await Deno.readTextFile(join(dir, "stderr")), "oops\n");
    assert.equal(await Deno.readTextFile(join(dir, "args")), "--tag\nt1\n");
    // Only CONTAINER_ID / CONTAINER_NAMESPACE (+ env.*) reach the logger: not our HOME.
    assert.equal(await Deno.readTextFile(join(dir, "env")), "id=c1 ns=ns1 extra=yes path=\n");
    await io.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProcessIO.open() without an identity defers the logger to attachLogger()", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const uri = `binary://${await script(dir, RECORDING_LOGGER)}`;
    const io = await ProcessIO.open(
      { stdin: "", stdout: uri, stderr: "", terminal: false },
      nullLogger,
    );
    assert.throws(
      () => io.start(agentWith({ stdout: [], stderr: [] })),
      bad("internal", /never started/),
    );
    await assert.rejects(Deno.stat(join(dir, "ready")), Deno.errors.NotFound);
    await io.attachLogger({ containerId: "late", namespace: "k8s.io" });
    io.start(agentWith({ stdout: ["x\n"], stderr: ["never\n"] }));
    await io.outputDone;
    assert.equal(await Deno.readTextFile(join(dir, "stdout")), "x\n");
    assert.equal(await Deno.readTextFile(join(dir, "stderr")), "", "no stderr stream: fd 4 at EOF");
    assert.match(await Deno.readTextFile(join(dir, "env")), /^id=late ns=k8s\.io /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProcessIO.open() refuses a missing or non-executable logger and a second stderr URI", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const who = { containerId: "c", namespace: "n" };
    const open = (stdout: string, stderr = "") =>
      ProcessIO.open({ stdin: "", stdout, stderr, terminal: false }, nullLogger, who);
    await assert.rejects(open(`binary://${dir}/missing`), bad("bad-request", /does not exist/));
    await Deno.writeTextFile(join(dir, "plain"), "#!/bin/sh\n", { mode: 0o644 });
    await assert.rejects(open(`binary://${dir}/plain`), bad("bad-request", /not an executable/));
    const ok = `binary://${await script(dir, RECORDING_LOGGER)}`;
    await assert.rejects(
      open(ok, `${dir}/err`),
      bad("bad-request", /stderr must be empty or the same URI/),
    );
    await assert.rejects(open(`${dir}/out`, ok), bad("bad-request", /only be given as stdout/));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BinaryLogger.start() fails when the logger exits or never gets ready", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const who = { containerId: "c", namespace: "n" };
    const exits = parseBinaryUri(
      `binary://${await script(dir, "#!/bin/sh\nexec 3<&- 4<&-\nkill -9 $$\n")}`,
    );
    // Exiting closes fd 5 too: upstream treats that EOF as ready; the writes then fail, not hang.
    const l = await BinaryLogger.start(exits, who, true, { logger: nullLogger });
    await l.stop();
    const stalls = parseBinaryUri(`binary://${await script(dir, "#!/bin/sh\nexec sleep 600\n")}`);
    await assert.rejects(
      BinaryLogger.start(stalls, who, true, { logger: nullLogger, readyTimeoutMs: 300 }),
      bad("start-failed", /did not close its wait pipe \(fd 5\) in time/),
    );
    const noShell = parseBinaryUri(`binary://${await script(dir, RECORDING_LOGGER)}`);
    await assert.rejects(
      BinaryLogger.start(noShell, who, true, { logger: nullLogger, shell: "/bin/false" }),
      bad("start-failed", /exited before it was ready/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BinaryLogger.stop() signals a logger that ignores the end of its input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stubborn = parseBinaryUri(
      `binary://${await script(
        dir,
        "#!/bin/sh\nexec 5>&-\ntrap '' TERM\nwhile :; do sleep 1; done\n",
      )}`,
    );
    const l = await BinaryLogger.start(stubborn, { containerId: "c", namespace: "n" }, false, {
      logger: nullLogger,
      exitGraceMs: 200,
    });
    const pid = l.pid;
    await l.stop();
    await assert.rejects(Deno.stat(`/proc/${pid}/cmdline`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ProcessIO with file:// appends stdout and stderr to one file, creating its directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "logs/sub/c.log");
    const uri = `file://${path}`;
    for (const [o, e] of [["a\n", "b\n"], ["c\n", ""]]) {
      const io = await ProcessIO.open(
        { stdin: "", stdout: uri, stderr: uri, terminal: false },
        nullLogger,
      );
      io.start(agentWith({ stdout: [o!], stderr: [e!] }));
      await io.outputDone;
    }
    const text = await Deno.readTextFile(path);
    assert.deepEqual(text.split("\n").sort(), ["", "a", "b", "c"]);
    assert.ok(text.endsWith("c\n"), "the second process appended");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
