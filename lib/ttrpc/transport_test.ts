import assert from "node:assert/strict";
import {
  type Address,
  AddressError,
  connectUnix,
  formatAddress,
  listenUnix,
  openCharDevice,
  parseAddress,
} from "./transport.ts";
import { FrameReader, FrameWriter } from "./frame.ts";

Deno.test("parseAddress() accepts the unix and vsock spellings used by kata and guest-components", () => {
  const cases: Array<[string, Address]> = [
    ["unix:///run/confidential-containers/cdh.sock", {
      transport: "unix",
      path: "/run/confidential-containers/cdh.sock",
    }],
    ["unix:/run/x.sock", { transport: "unix", path: "/run/x.sock" }],
    ["unix://x.sock", { transport: "unix", path: "x.sock" }],
    ["/run/x.sock", { transport: "unix", path: "/run/x.sock" }],
    ["vsock://3:1024", { transport: "vsock", cid: 3, port: 1024 }],
    ["vsock://-1:1024", { transport: "vsock", cid: -1, port: 1024 }],
    ["vsock://4294967295:0", { transport: "vsock", cid: 4294967295, port: 0 }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseAddress(input), want, input);
});

Deno.test("parseAddress() throws AddressError naming the input for bad addresses", () => {
  for (
    const input of [
      "tcp://1.2.3.4:5",
      "unix://",
      "unix:",
      "vsock://3",
      "vsock://a:1",
      "vsock://1:4294967296",
      "vsock://3:1024/x",
      "",
    ]
  ) {
    assert.throws(
      () => parseAddress(input),
      (err: unknown) =>
        err instanceof AddressError &&
        err.message.startsWith(`Cannot parse ttrpc address "${input}"`),
      input,
    );
  }
});

Deno.test("formatAddress() round-trips through parseAddress()", () => {
  for (const s of ["unix:///run/a.sock", "vsock://2:1024"]) {
    assert.equal(formatAddress(parseAddress(s)), s);
  }
});

Deno.test("listenUnix() creates the parent directory and replaces a stale socket file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nested/dir/x.sock`;
  const first = await listenUnix(path);
  assert.ok((await Deno.lstat(path)).isSocket);
  first.close();
  await Deno.writeTextFile(path, "left over by a crashed daemon");
  const listener = await listenUnix(path);
  const accepted = listener.accept();
  const client = await connectUnix(path);
  const server = await accepted;
  const w = new FrameWriter(client.writable);
  const r = new FrameReader(server.readable);
  await w.write({ streamId: 1, type: 1, flags: 0, payload: new Uint8Array([7]) });
  const got = await r.read();
  assert.ok(got?.kind === "frame");
  assert.deepEqual(got.frame.payload, new Uint8Array([7]));
  await r.cancel();
  await w.close();
  client.close();
  server.close();
  listener.close();
  listener.close(); // idempotent
  await Deno.remove(dir, { recursive: true });
});

Deno.test("listenUnix() listener iteration ends when the listener is closed", async () => {
  const dir = await Deno.makeTempDir();
  const listener = await listenUnix(`${dir}/y.sock`);
  const seen: number[] = [];
  const { promise: accepted, resolve } = Promise.withResolvers<void>();
  const loop = (async () => {
    for await (const conn of listener) {
      seen.push(1);
      conn.close();
      resolve();
    }
  })();
  (await connectUnix(`${dir}/y.sock`)).close();
  await accepted;
  listener.close();
  await loop;
  assert.deepEqual(seen, [1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openCharDevice() reads and writes frames through a device node (a FIFO here)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/vport0p1`;
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0);
  const port = await openCharDevice(path); // O_RDWR on a FIFO loops back what we write
  const w = new FrameWriter(port.writable);
  const r = new FrameReader(port.readable);
  await w.write({ streamId: 9, type: 2, flags: 0, payload: new Uint8Array([1, 2, 3]) });
  const got = await r.read();
  assert.ok(got?.kind === "frame");
  assert.equal(got.frame.streamId, 9);
  assert.deepEqual(got.frame.payload, new Uint8Array([1, 2, 3]));
  await r.cancel();
  port.close();
  port.close();
  await Deno.remove(dir, { recursive: true });
});
