import assert from "node:assert/strict";
import { startFakeKbs } from "./_testing/fake_kbs.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** Reads `n` lines from a child's stdout, then keeps draining into `rest`. */
async function readLines(stream: ReadableStream<Uint8Array>, n: number) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (buf.split("\n").length <= n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return { lines: buf.split("\n").slice(0, n), drained };
}

function guestCommand(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { COCO_LOG: "warn", ...env },
  });
}

Deno.test("coco-guest all serves AA, CDH and REST; SIGTERM stops it cleanly", async () => {
  await using kbs = await startFakeKbs({ "default/key/1": "top-secret" });
  const dir = await Deno.makeTempDir({ prefix: "coco_guest_all_" });
  try {
    await Deno.writeTextFile(
      `${dir}/guest.toml`,
      `tee = "sample"
[aa]
socket = "unix://${dir}/aa.sock"
[aa.token_configs.kbs]
url = "${kbs.url}"
[cdh]
socket = "unix://${dir}/cdh.sock"
[cdh.kbc]
name = "cc_kbc"
url = "${kbs.url}"
[api_server_rest]
bind = "127.0.0.1:0"
features = "all"
`,
    );
    const child = guestCommand(["all", "--config", `${dir}/guest.toml`]).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const errText = (async () => {
      let s = "";
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) s += r.value;
      return s;
    })();
    const { lines, drained } = await readLines(child.stdout, 3);
    assert.equal(lines[0], `aa listening on unix://${dir}/aa.sock`);
    assert.equal(lines[1], `cdh listening on unix://${dir}/cdh.sock`);
    const url = /^api-server-rest listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[2] ?? "")
      ?.[1];
    assert.ok(url, `unexpected line ${lines[2]}`);

    const info = await (await fetch(`${url}/info`)).json();
    assert.deepEqual(info, {
      version: "0.1.0",
      tee: "sample",
      additional_tees: [],
      feature: "all",
    });
    assert.equal(await (await fetch(`${url}/cdh/resource/default/key/1`)).text(), "top-secret");

    const got = await guestCommand([
      "get-resource",
      "kbs:///default/key/1",
      "--cdh-socket",
      `unix://${dir}/cdh.sock`,
    ]).output();
    assert.equal(new TextDecoder().decode(got.stdout), "top-secret");
    assert.equal(kbs.attestations, 1);

    child.kill("SIGTERM");
    const status = await child.status;
    await drained;
    assert.equal(status.code, 0, await errText);
    await errText;
    await assert.rejects(Deno.stat(`${dir}/aa.sock`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${dir}/cdh.sock`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("coco-guest get-resource --kbs-url attests with the sample TEE and prints raw bytes", async () => {
  const bytes = new Uint8Array([0, 1, 2, 255, 10]);
  await using kbs = await startFakeKbs({ "repo/type/tag": bytes });
  const out = await guestCommand([
    "get-resource",
    "kbs:///repo/type/tag",
    "--kbs-url",
    kbs.url,
    "--tee",
    "sample",
  ]).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(out.stdout, bytes);
});

Deno.test("coco-guest aa without a TEE refuses to start instead of falling back to sample", async () => {
  const out = await guestCommand(["aa", "-a", "unix:///tmp/never-used.sock"], { COCO_TEE: "" })
    .output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /(No TEE detected|detected but its attester is not supported).*--tee sample/,
  );
  assert.equal(out.stdout.length, 0);
});
