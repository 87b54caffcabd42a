/** `coco-host snapshotter` as a child process: readiness line, a real call, clean SIGTERM stop. */
import assert from "node:assert/strict";
import type { ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { SnapshotsClient } from "./client.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("coco-host snapshotter serves on the socket and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coco-snap-cli-" });
  const socket = `${dir}/s.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "snapshotter", "--socket", socket, "--root", `${dir}/root`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      out += value;
    }
    assert.equal(out.trim(), `snapshotter listening on ${socket}`);
    const c = new SnapshotsClient(socket);
    try {
      await c.prepare({ key: "k" });
      const err = await c.stat({ key: "missing" }).catch((e: ServiceError) => e);
      assert.equal((err as ServiceError).code, status.NOT_FOUND);
    } finally {
      c.close();
    }
  } finally {
    child.kill("SIGTERM");
    const st = await child.status;
    await lines.cancel();
    const log = await stderr;
    assert.equal(st.code, 0, log);
    await assert.rejects(Deno.stat(socket), Deno.errors.NotFound);
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/root/metadata.json`));
    assert.deepEqual(meta.snapshots.map((s: { name: string }) => s.name), ["k"]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("coco-host snapshotter rejects an unknown --unlabelled-layers policy", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "snapshotter",
      "--socket",
      "/nonexistent/s",
      "--root",
      "/nonexistent",
      "--unlabelled-layers",
      "maybe",
    ],
    stdin: "null",
  }).output();
  assert.notEqual(out.code, 0);
  assert.match(new TextDecoder().decode(out.stderr), /maybe.*(overlay|guest-pull|refuse)/s);
});
