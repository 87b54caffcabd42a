import assert from "node:assert/strict";
import { storageConformance } from "./conformance.ts";
import { createLocalFsStorage, decodeKeyFileName, encodeKeyFileName } from "./local_fs.ts";
import { StorageError } from "./errors.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function tempRoot(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "kv-local-fs-" });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

storageConformance("LocalFs", async () => {
  const { dir, cleanup } = await tempRoot();
  return { provider: createLocalFsStorage({ dirPath: dir }), cleanup };
});

Deno.test("encodeKeyFileName() replaces every slash with the literal \\x2F when a key has slashes", () => {
  assert.equal(encodeKeyFileName("default/key/testfile"), "default\\x2Fkey\\x2Ftestfile");
  assert.equal(decodeKeyFileName("default\\x2Fkey\\x2Ftestfile"), "default/key/testfile");
  assert.equal(decodeKeyFileName("~tmp-123"), undefined);
  assert.equal(decodeKeyFileName("a\\x2F..\\x2Fb"), undefined);
});

Deno.test("set() writes the upstream file name and raw bytes when a key has slashes", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    const storage = createLocalFsStorage({ dirPath: dir });
    await storage.namespace("repository").set("default/key/testfile", bytes("secret\n"));
    const names = [];
    for await (const e of Deno.readDir(`${dir}/repository`)) names.push(e.name);
    assert.deepEqual(names, ["default\\x2Fkey\\x2Ftestfile"]);
    const raw = await Deno.readFile(`${dir}/repository/default\\x2Fkey\\x2Ftestfile`);
    assert.deepEqual(raw, bytes("secret\n"));
  } finally {
    await cleanup();
  }
});

Deno.test("get() and list() read a file when upstream wrote it by hand", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    await Deno.mkdir(`${dir}/repository`, { recursive: true });
    await Deno.writeFile(`${dir}/repository/one\\x2Fkey\\x2Fx`, new Uint8Array([0, 255, 7]));
    const ns = createLocalFsStorage({ dirPath: dir }).namespace("repository");
    assert.deepEqual(await ns.list(), ["one/key/x"]);
    assert.deepEqual(await ns.get("one/key/x"), new Uint8Array([0, 255, 7]));
  } finally {
    await cleanup();
  }
});

Deno.test("list() skips temporary files and directories when they are left over", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    const ns = createLocalFsStorage({ dirPath: dir }).namespace("kbs");
    await ns.set("real", bytes("1"));
    await Deno.writeFile(`${dir}/kbs/~tmp-0b5ea0a0-dead-beef`, bytes("half"));
    await Deno.mkdir(`${dir}/kbs/subdir`);
    assert.deepEqual(await ns.list(), ["real"]);
  } finally {
    await cleanup();
  }
});

Deno.test("namespace() creates no directory until a value is set", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    const ns = createLocalFsStorage({ dirPath: `${dir}/deep/root` }).namespace("a/b");
    assert.deepEqual(await ns.list(), []);
    assert.equal(await ns.get("k"), undefined);
    await assert.rejects(Deno.stat(`${dir}/deep`), Deno.errors.NotFound);
    await ns.set("k", bytes("v"));
    assert.deepEqual(await Deno.readFile(`${dir}/deep/root/a/b/k`), bytes("v"));
  } finally {
    await cleanup();
  }
});

Deno.test("set() throws an io StorageError naming the key when the directory is not writable", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    await Deno.writeFile(`${dir}/kbs`, bytes("a file where the namespace directory should be"));
    const ns = createLocalFsStorage({ dirPath: dir }).namespace("kbs");
    await assert.rejects(ns.set("k", bytes("v")), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "io");
      assert.match(err.message, /^Cannot create the directory of namespace "kbs" \(.*\/kbs\): /);
      return true;
    });
  } finally {
    await cleanup();
  }
});

Deno.test("set() never exposes a torn value when the writer process is killed mid-write", async () => {
  const { dir, cleanup } = await tempRoot();
  const size = 4 * 1024 * 1024;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      new URL("./testdata/crash_writer.ts", import.meta.url).pathname,
      dir,
      String(size),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`writer exited before it was ready: ${out}`);
      out += value;
    }
    await reader.cancel();
    const ns = createLocalFsStorage({ dirPath: dir }).namespace("crash");
    const check = (value: Uint8Array | undefined) => {
      assert.ok(value !== undefined);
      assert.equal(value.length, size);
      const first = value[0];
      assert.ok(first === 0x41 || first === 0x42);
      assert.ok(value.every((b) => b === first), "value is torn");
    };
    for (let i = 0; i < 20; i++) check(await ns.get("big"));
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    check(await ns.get("big"));
    assert.deepEqual(await ns.list(), ["big"]);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await cleanup();
  }
});
