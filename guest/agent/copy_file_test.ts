import assert from "node:assert/strict";
import { join } from "node:path";
import { agent, create, type MessageInitShape } from "@coco/lib/proto";
import { AgentError } from "./errors.ts";
import { AgentPaths } from "./paths.ts";
import { copyFile, copyFilePolicyInput } from "./copy_file.ts";
import { AgentPolicy } from "./policy.ts";
import { DEFAULT_POLICY_REGO } from "./policies/embedded.ts";

type Init = Omit<MessageInitShape<typeof agent.CopyFileRequestSchema>, "$typeName">;
const enc = new TextEncoder();
const REG = 0o100000;
const DIR = 0o040000;
const LNK = 0o120000;
const req = (init: Init) => create(agent.CopyFileRequestSchema, { dirMode: 0o750, ...init });

async function withPaths(fn: (p: AgentPaths, shared: string) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "copyfile-" });
  try {
    const p = new AgentPaths(base);
    await Deno.mkdir(p.shared, { recursive: true });
    await fn(p, p.shared);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function rejects(p: Promise<unknown>, code: string, re: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AgentError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, re);
    return true;
  });
}

Deno.test("CopyFile writes a file in chunks and shows it only once complete", async () => {
  await withPaths(async (p, shared) => {
    const path = join(shared, "c1-0123456789abcdef-hosts", "sub", "f");
    const mode = REG | 0o640;
    await copyFile(
      p,
      req({ path, fileSize: 6n, fileMode: mode, offset: 0n, data: enc.encode("abc") }),
    );
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
    await copyFile(
      p,
      req({ path, fileSize: 6n, fileMode: mode, offset: 3n, data: enc.encode("def") }),
    );
    assert.equal(await Deno.readTextFile(path), "abcdef");
    assert.equal((await Deno.stat(path)).mode! & 0o7777, 0o640);
    assert.equal((await Deno.stat(join(shared, "c1-0123456789abcdef-hosts"))).mode! & 0o777, 0o750);
    await assert.rejects(Deno.lstat(`${path}.tmp`), Deno.errors.NotFound);
    // offset 0 again replaces the file (a ConfigMap update).
    await copyFile(
      p,
      req({ path, fileSize: 2n, fileMode: mode, offset: 0n, data: enc.encode("xy") }),
    );
    assert.equal(await Deno.readTextFile(path), "xy");
    // an empty file is complete at once.
    const empty = join(shared, "c1-0123456789abcdef-empty");
    await copyFile(p, req({ path: empty, fileSize: 0n, fileMode: REG | 0o600, offset: 0n }));
    assert.equal((await Deno.stat(empty)).size, 0);
  });
});

Deno.test("CopyFile makes directories and relative symlinks", async () => {
  await withPaths(async (p, shared) => {
    const dir = join(shared, "c1-0123456789abcdef-config");
    await copyFile(p, req({ path: dir, fileMode: DIR | 0o755 }));
    assert.ok((await Deno.lstat(dir)).isDirectory);
    const link = join(dir, "key");
    await copyFile(p, req({ path: link, fileMode: LNK | 0o777, data: enc.encode("..data/key") }));
    assert.equal(await Deno.readLink(link), "..data/key");
  });
});

Deno.test("CopyFile refuses hostile requests and writes nothing outside its root", async () => {
  await withPaths(async (p, shared) => {
    const ok = join(shared, "c1-0123456789abcdef-x");
    await rejects(
      copyFile(p, req({ path: "/etc/evil", fileSize: 1n, fileMode: REG, data: enc.encode("x") })),
      "invalid-argument",
      /outside the allowed directories/,
    );
    await rejects(
      copyFile(p, req({ path: `${shared}/../escape`, fileSize: 0n, fileMode: REG })),
      "invalid-argument",
      /not a clean absolute path/,
    );
    await rejects(
      copyFile(
        p,
        req({ path: ok, fileSize: 2n, fileMode: REG, offset: 1n, data: enc.encode("ab") }),
      ),
      "invalid-argument",
      /exceeds file_size/,
    );
    await rejects(
      copyFile(
        p,
        req({ path: ok, fileSize: 4n, fileMode: REG, offset: 2n, data: enc.encode("ab") }),
      ),
      "failed-precondition",
      /without a started copy/,
    );
    await rejects(
      copyFile(p, req({ path: ok, fileMode: LNK, data: enc.encode("/etc/shadow") })),
      "invalid-argument",
      /must be relative/,
    );
    await rejects(
      copyFile(p, req({ path: ok, fileMode: 0o020000 | 0o600 })),
      "invalid-argument",
      /unsupported file_mode/,
    );
    await rejects(
      copyFile(p, req({ path: ok, fileSize: BigInt(2 ** 40), fileMode: REG })),
      "invalid-argument",
      /out of range/,
    );
    // A symlink copied earlier cannot carry a later copy out of the root.
    const outside = await Deno.makeTempDir({ prefix: "copyfile-outside-" });
    try {
      const link = join(shared, "c1-0123456789abcdef-l");
      await copyFile(
        p,
        req({ path: link, fileMode: LNK | 0o777, data: enc.encode("../../../..") }),
      );
      const through = join(link, outside.slice(1), "pwned");
      await rejects(
        copyFile(p, req({ path: through, fileSize: 1n, fileMode: REG, data: enc.encode("x") })),
        "invalid-argument",
        /outside the allowed directories/,
      );
      assert.deepEqual([...Deno.readDirSync(outside)], []);
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  });
});

Deno.test("CopyFile policy input and the default policy's rule", () => {
  const input = copyFilePolicyInput(
    req({ path: "/p", fileSize: 3n, fileMode: LNK | 0o777, uid: 1, gid: 2, data: enc.encode("t") }),
  );
  assert.deepEqual(input, {
    path: "/p",
    file_type: "Symlink",
    symlink_target: "t",
    file_size: 3,
    file_mode: LNK | 0o777,
    dir_mode: 0o750,
    uid: 1,
    gid: 2,
    offset: 0,
  });
  const policy = AgentPolicy.fromText(DEFAULT_POLICY_REGO, "default.rego");
  const check = (path: string, mode = REG | 0o644) =>
    policy.check("CopyFileRequest", copyFilePolicyInput(req({ path, fileMode: mode })));
  const root = "/run/kata-containers/shared/containers";
  const cid = "a".repeat(64);
  check(`${root}/${cid}-0123456789abcdef-hosts`);
  check(`${root}/watchable/${cid}-0123456789abcdef-config/..data/key`);
  check(`${root}/${cid}-0123456789abcdef-config`, DIR | 0o755);
  for (
    const bad of [
      "/run/kata-containers/sandbox/x",
      `${root}/${cid}-hosts`,
      `${root}/${cid}-0123456789abcdef-cfg/../../x`,
      "/etc/passwd",
    ]
  ) {
    assert.throws(() => check(bad), (err: unknown) => {
      assert.ok(err instanceof AgentError);
      assert.equal(err.code, "permission-denied");
      return true;
    }, bad);
  }
  assert.throws(() => check(`${root}/${cid}-0123456789abcdef-dev`, 0o020000 | 0o600));
});
