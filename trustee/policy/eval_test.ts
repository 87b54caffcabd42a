import assert from "node:assert/strict";
import {
  type EvalIo,
  PolicyEvalError,
  type PolicyEvalRequest,
  runBatch,
  runSingle,
} from "./eval.ts";

function memIo(files: Record<string, string>, stdin = ""): EvalIo & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    write: (l) => out.push(l),
    readStdin: () => Promise.resolve(stdin),
    readFile: (p) =>
      p in files ? Promise.resolve(files[p]!) : Promise.reject(new Error("No such file")),
  };
}

const POLICY = `package policy
default allow := false
allow if {
  input.tee == "snp"
  input.svn >= data.min_svn
}
reason := r if { r := query_reference_value("launch_digest") }
`;

// Files on disk are read through Deno.stat for directory expansion; write them to a temp dir.
async function withPolicyDir(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function req(dir: string, extra: Partial<PolicyEvalRequest> = {}): PolicyEvalRequest {
  return {
    policies: [`${dir}/p.rego`],
    data: [`${dir}/d.json`],
    v0: false,
    explain: false,
    limits: {},
    ...extra,
  };
}

const diskIo = (stdin = ""): EvalIo & { out: string[] } => {
  const io = memIo({}, stdin);
  io.readFile = (p) => Deno.readTextFile(p);
  return io;
};

Deno.test("policy eval: single query with data and input prints the result", async () => {
  await withPolicyDir({
    "p.rego": POLICY,
    "d.json": '{"min_svn": 3}',
    "in.json": '{"tee":"snp","svn":4}',
  }, async (dir) => {
    const io = diskIo();
    assert.equal(
      await runSingle(req(dir, { input: `${dir}/in.json` }), "data.policy.allow", io),
      0,
    );
    assert.deepEqual(JSON.parse(io.out[0]!), { result: true });
    const low = diskIo('{"tee":"snp","svn":2}');
    await runSingle(req(dir, { input: "-" }), "data.policy.allow", low);
    assert.deepEqual(JSON.parse(low.out[0]!), { result: false });
  });
});

Deno.test("policy eval: --explain names the expression that failed", async () => {
  await withPolicyDir({ "p.rego": POLICY, "d.json": '{"min_svn": 3}' }, async (dir) => {
    const io = diskIo('{"tee":"snp","svn":1}');
    await runSingle(req(dir, { input: "-", explain: true }), "data.policy.allow", io);
    const out = JSON.parse(io.out[0]!);
    assert.equal(out.result, false);
    assert.equal(out.explanation.defaulted, true);
    assert.equal(out.explanation.bodies[0].failedAt.text, "input.svn >= data.min_svn");
  });
});

Deno.test("policy eval: undefined prints null; reference values are served", async () => {
  await withPolicyDir(
    { "p.rego": POLICY, "d.json": "{}", "rv.json": '{"launch_digest": ["ab"]}' },
    async (dir) => {
      const io = diskIo();
      await runSingle(req(dir), "data.policy.nothing", io);
      assert.deepEqual(JSON.parse(io.out[0]!), { result: null });
      const rv = diskIo();
      await runSingle(req(dir, { referenceValues: `${dir}/rv.json` }), "data.policy.reason", rv);
      assert.deepEqual(JSON.parse(rv.out[0]!), { result: ["ab"] });
    },
  );
});

Deno.test("policy eval: v0 syntax only with --v0; parse errors are clear", async () => {
  await withPolicyDir(
    { "p.rego": "package x\nallow { input.a }\n", "d.json": "{}" },
    async (dir) => {
      await assert.rejects(
        runSingle(req(dir), "data.x.allow", diskIo()),
        (e: unknown) =>
          e instanceof PolicyEvalError && e.code === "parse" && /p\.rego:2/.test(e.message),
      );
      const io = diskIo('{"a": true}');
      await runSingle(req(dir, { v0: true, input: "-" }), "data.x.allow", io);
      assert.deepEqual(JSON.parse(io.out[0]!), { result: true });
    },
  );
});

Deno.test("policy eval: missing files and conflicting data are errors naming the file", async () => {
  await withPolicyDir(
    { "p.rego": POLICY, "d.json": '{"min_svn": 3}', "d2.json": '{"min_svn": 4}' },
    async (dir) => {
      await assert.rejects(
        runSingle(req(dir, { input: `${dir}/absent.json` }), "data.policy.allow", diskIo()),
        (e: unknown) =>
          e instanceof PolicyEvalError && e.code === "read" && e.message.includes("absent.json"),
      );
      await assert.rejects(
        runSingle(
          req(dir, { data: [`${dir}/d.json`, `${dir}/d2.json`] }),
          "data.policy.allow",
          diskIo(),
        ),
        (e: unknown) => e instanceof PolicyEvalError && e.message.includes("d2.json"),
      );
    },
  );
});

Deno.test("policy eval: batch replays every line against one policy, errors per line", async () => {
  await withPolicyDir({ "p.rego": POLICY, "d.json": '{"min_svn": 3}' }, async (dir) => {
    const lines = [
      JSON.stringify({ query: "data.policy.allow", input: { tee: "snp", svn: 5 } }),
      JSON.stringify({ input: { tee: "tdx", svn: 5 } }),
      "",
      "{broken",
      "[1]",
      JSON.stringify({ query: "data.policy.allow[", input: {} }),
    ];
    await Deno.writeTextFile(`${dir}/b.jsonl`, lines.join("\n"));
    const io = diskIo();
    const code = await runBatch(req(dir), `${dir}/b.jsonl`, "data.policy.allow", io);
    assert.equal(code, 1);
    const outs = io.out.map((l) => JSON.parse(l));
    assert.equal(outs.length, 5);
    assert.deepEqual(outs[0], { result: true });
    assert.deepEqual(outs[1], { result: false });
    assert.match(outs[2].error, /^line 4: invalid JSON/);
    assert.match(outs[3].error, /^line 5: expected a JSON object/);
    assert.ok(typeof outs[4].error === "string" && outs[4].error.length > 0);
    const ok = diskIo();
    await Deno.writeTextFile(`${dir}/ok.jsonl`, lines[0]!);
    assert.equal(await runBatch(req(dir), `${dir}/ok.jsonl`, undefined, ok), 0);
  });
});

Deno.test("policy eval: step limit stops a runaway policy with a clear error", async () => {
  const loop = `package p
n := count([x | some x in numbers.range(1, 100000); x > 0])
`;
  await withPolicyDir({ "p.rego": loop, "d.json": "{}" }, async (dir) => {
    await assert.rejects(
      runSingle(req(dir, { limits: { maxSteps: 1000 } }), "data.p.n", diskIo()),
      (e: unknown) =>
        e instanceof PolicyEvalError && e.code === "eval" && /limit|steps/i.test(e.message),
    );
  });
});
