import assert from "node:assert/strict";
import { storageConformance } from "./conformance.ts";
import { StorageError } from "./errors.ts";
import { createLocalJsonStorage } from "./local_json.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function tempRoot(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "kv-local-json-" });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

storageConformance("LocalJson", async () => {
  const { dir, cleanup } = await tempRoot();
  return { provider: createLocalJsonStorage({ fileDirPath: dir }), cleanup };
});

Deno.test("set() writes base64url with padding to the namespace file when a value is stored", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    const ns = createLocalJsonStorage({ fileDirPath: dir }).namespace("kbs");
    await ns.set("a/b", new Uint8Array([0xfb, 0xff]));
    await ns.set("__proto__", bytes("x"));
    const text = await Deno.readTextFile(`${dir}/kbs`);
    assert.deepEqual(Object.entries(JSON.parse(text)), [["a/b", "-_8="], ["__proto__", "eA=="]]);
    assert.deepEqual(await ns.get("__proto__"), bytes("x"));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["kbs"]);
  } finally {
    await cleanup();
  }
});

Deno.test("get() reads a namespace file when upstream wrote it", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    await Deno.writeTextFile(`${dir}/reference_value`, JSON.stringify({ "x.y": "YWJj", k: "" }));
    const ns = createLocalJsonStorage({ fileDirPath: dir }).namespace("reference_value");
    assert.deepEqual(await ns.get("x.y"), bytes("abc"));
    assert.deepEqual(await ns.get("k"), new Uint8Array());
    assert.deepEqual((await ns.list()).sort(), ["k", "x.y"]);
  } finally {
    await cleanup();
  }
});

const CORRUPT: Array<[string, string, string]> = [
  ["not JSON", "{oops", "not valid UTF-8 JSON"],
  ["an array", "[1]", "the top level is not a JSON object"],
  ["a number value", '{"k": 1}', 'the value of "k" is not a string'],
  ["bad base64", '{"k": "***"}', 'the value of "k" is not base64url'],
];

for (const [what, content, why] of CORRUPT) {
  Deno.test(`get() throws a corrupt StorageError naming the file when it holds ${what}`, async () => {
    const { dir, cleanup } = await tempRoot();
    try {
      await Deno.writeTextFile(`${dir}/kbs`, content);
      const storage = createLocalJsonStorage({ fileDirPath: dir });
      const pinned = (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "corrupt");
        assert.equal(err.namespace, "kbs");
        assert.equal(err.message, `Cannot read namespace "kbs": ${dir}/kbs is corrupt: ${why}`);
        return true;
      };
      await assert.rejects(storage.namespace("kbs").get("k"), pinned);
      await assert.rejects(storage.namespace("kbs").set("k", bytes("v")), pinned);
      assert.equal(await Deno.readTextFile(`${dir}/kbs`), content);
      await storage.close();
    } finally {
      await cleanup();
    }
  });
}

Deno.test("close() waits for queued writes when sets are still pending", async () => {
  const { dir, cleanup } = await tempRoot();
  try {
    const storage = createLocalJsonStorage({ fileDirPath: dir });
    const ns = storage.namespace("kbs");
    const pending = Array.from({ length: 10 }, (_, i) => ns.set(`k${i}`, bytes(String(i))));
    await storage.close();
    assert.equal(Object.keys(JSON.parse(await Deno.readTextFile(`${dir}/kbs`))).length, 10);
    await Promise.all(pending);
    assert.throws(() => storage.namespace("other"), StorageError);
  } finally {
    await cleanup();
  }
});
