import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import { ShimError } from "./errors.ts";
import { type AgentStreams, COPY_SIZE, ProcessIO } from "./stdio.ts";
import { findPeers, skipUnless } from "../../tests/peers.ts";

const peers = findPeers("mkfifo");

async function fifos(dir: string, ...names: string[]): Promise<string[]> {
  const paths = names.map((n) => join(dir, n));
  const out = await new Deno.Command("mkfifo", { args: paths }).output();
  assert.ok(out.success);
  return paths;
}

function fakeAgent(out: Record<"stdout" | "stderr", string[]>) {
  const written: Uint8Array[] = [];
  const reads: string[] = [];
  const enc = new TextEncoder();
  const agent: AgentStreams = {
    write: (data) => {
      written.push(data.slice());
      return Promise.resolve(data.length);
    },
    read: (which, len) => {
      reads.push(which);
      assert.equal(len, COPY_SIZE);
      return Promise.resolve(enc.encode(out[which].shift() ?? ""));
    },
  };
  return { agent, written, reads };
}

Deno.test({
  name: "ProcessIO copies agent stdout/stderr into real FIFOs and stdin from one, in 32 KiB pieces",
  ...skipUnless(peers, "stdio FIFOs"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const [stdin, stdout, stderr] = await fifos(dir, "in", "out", "err");
      const io = await ProcessIO.open(
        { stdin: stdin!, stdout: `fifo://${stdout}`, stderr: stderr!, terminal: false },
        nullLogger,
      );
      // containerd's ends: readers for stdout/stderr, a writer for stdin.
      const outR = await Deno.open(stdout!, { read: true });
      const errR = await Deno.open(stderr!, { read: true });
      const inW = await Deno.open(stdin!, { write: true });
      const fake = fakeAgent({ stdout: ["hello ", "world\n"], stderr: ["oops\n"] });
      io.start(fake.agent);
      const payload = new Uint8Array(100_000).map((_, i) => i % 251);
      let off = 0;
      while (off < payload.length) off += await inW.write(payload.subarray(off));
      inW.close();
      await io.stdinDone;
      await io.outputDone;
      assert.equal(await new Response(outR.readable).text(), "hello world\n");
      assert.equal(await new Response(errR.readable).text(), "oops\n");
      const got = new Uint8Array(fake.written.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of fake.written) {
        assert.ok(c.length <= COPY_SIZE);
        got.set(c, at);
        at += c.length;
      }
      assert.deepEqual(got, payload);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ProcessIO with a terminal has no stderr stream",
  ...skipUnless(peers, "stdio terminal"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const [stdout, stderr] = await fifos(dir, "out", "err");
      const io = await ProcessIO.open(
        { stdin: "", stdout: stdout!, stderr: stderr!, terminal: true },
        nullLogger,
      );
      const outR = await Deno.open(stdout!, { read: true });
      const fake = fakeAgent({ stdout: ["tty\n"], stderr: ["never\n"] });
      io.start(fake.agent);
      await io.outputDone;
      assert.equal(await new Response(outR.readable).text(), "tty\n");
      assert.equal(fake.reads.includes("stderr"), false);
      assert.equal(io.hasStdin, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ProcessIO.open() refuses a missing binary:// logger and relative paths", async () => {
  await assert.rejects(
    ProcessIO.open({
      stdin: "",
      stdout: "binary:///nonexistent/logger?x=1",
      stderr: "",
      terminal: false,
    }, nullLogger),
    (e: unknown) =>
      e instanceof ShimError && e.code === "bad-request" &&
      /binary logger \/nonexistent\/logger does not exist/.test(e.message),
  );
  await assert.rejects(
    ProcessIO.open({ stdin: "", stdout: "relative/out", stderr: "", terminal: false }, nullLogger),
    (e: unknown) =>
      e instanceof ShimError && e.code === "bad-request" && /not absolute/.test(e.message),
  );
  await assert.rejects(
    ProcessIO.open(
      { stdin: "/nonexistent/fifo", stdout: "", stderr: "", terminal: false },
      nullLogger,
    ),
    (e: unknown) =>
      e instanceof ShimError && e.code === "bad-request" && /nonexistent/.test(e.message),
  );
});
