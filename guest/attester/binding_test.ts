/** Init-data binding and runtime registers of the sample, TDX and SNP attesters (no hardware). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeSnpReport, parseSnpEvidence } from "@coco/lib/tee/snp";
import { type Attester, InitDataBindingError, sampleAttester, tdxCcMrOfPcr } from "./mod.ts";
import { SnpAttester, type TsmFs } from "./snp.ts";
import { tdxAttester } from "./tdx.ts";

const isMismatch = (re: RegExp) => (e: unknown) =>
  e instanceof InitDataBindingError && e.code === "init-data-mismatch" && re.test(e.message);

Deno.test("sampleAttester() adds aa_eventlog only when the log exists and binds nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = sampleAttester({ aaelPath: `${dir}/eventlog` });
    assert.deepEqual(await a.primaryEvidence(new Uint8Array([1])), {
      svn: "1",
      report_data: "AQ==",
    });
    await Deno.writeFile(`${dir}/eventlog`, new Uint8Array([9, 9]));
    assert.equal(
      (await a.primaryEvidence(new Uint8Array([1])) as Record<string, unknown>).aa_eventlog,
      "CQk=",
    );
    assert.equal((await a.bindInitData(new Uint8Array(32))).status, "unsupported");
    assert.equal(await a.registers?.read(17), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function tdxRoot(files: Record<string, Uint8Array>) {
  const root = await Deno.makeTempDir({ prefix: "tdx-bind-" });
  const dir = join(root, "sys/devices/virtual/misc/tdx_guest/measurements");
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await Deno.writeFile(join(dir, name), data);
  return { root, dir };
}

Deno.test("tdxAttester().bindInitData() compares MRCONFIGID with the zero-padded digest", async () => {
  const digest = crypto.getRandomValues(new Uint8Array(32));
  const mr = new Uint8Array(48);
  mr.set(digest);
  const { root } = await tdxRoot({ mrconfigid: mr });
  try {
    const a = tdxAttester({ root });
    assert.deepEqual(await a.bindInitData(digest), { status: "matched", field: "MRCONFIGID" });
    await assert.rejects(a.bindInitData(new Uint8Array(32)), isMismatch(/MRCONFIGID/));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tdxAttester().bindInitData() fails as unavailable without MRCONFIGID or TSM", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      tdxAttester({ root }).bindInitData(new Uint8Array(48)),
      (e: unknown) => e instanceof InitDataBindingError && e.code === "init-data-unavailable",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tdxAttester() registers map PCRs to RTMRs and write 48-byte digests", async () => {
  assert.deepEqual([1, 7, 2, 6, 8, 15, 0, 16, 17, 23].map(tdxCcMrOfPcr), [
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    4,
    4,
  ]);
  const { root, dir } = await tdxRoot({ "rtmr3:sha384": new Uint8Array(48) });
  try {
    const regs = tdxAttester({ root }).registers!;
    assert.equal(await regs.supported(), true);
    const d = crypto.getRandomValues(new Uint8Array(48));
    await regs.extend(17, d);
    assert.deepEqual(await Deno.readFile(join(dir, "rtmr3:sha384")), d);
    const bare = await Deno.makeTempDir();
    try {
      assert.equal(await tdxAttester({ root: bare }).registers!.supported(), false);
    } finally {
      await Deno.remove(bare);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const e2e = parseSnpEvidence(JSON.parse(Deno.readTextFileSync(
  new URL(
    "../../../shared/testdata/trustee/attestation-service/tests/e2e/evidence.json",
    import.meta.url,
  ),
)));

function snpFs(report: Uint8Array): TsmFs {
  return {
    async mkdir(p) {
      await Deno.mkdir(p);
      await Deno.writeTextFile(`${p}/provider`, "sev_guest\n");
      await Deno.writeTextFile(`${p}/generation`, "1\n");
      await Deno.writeFile(`${p}/outblob`, report);
    },
    readFile: (p) => Deno.readFile(p),
    writeFile: (p, d) => Deno.writeFile(p, d),
    rmdir: (p) => Deno.remove(p, { recursive: true }),
  };
}

Deno.test("SnpAttester.bindInitData() compares HOST_DATA with the digest", async () => {
  const hostData = crypto.getRandomValues(new Uint8Array(32));
  const report = encodeSnpReport({ ...e2e.report, host_data: hostData });
  const root = await Deno.makeTempDir();
  try {
    const a = new SnpAttester({ tsmRoot: root, fs: snpFs(report) });
    assert.equal((a as Attester).registers, undefined);
    assert.deepEqual(await a.bindInitData(hostData), { status: "matched", field: "HOST_DATA" });
    // A 48-byte digest is truncated to 32 bytes, as upstream.
    const longer = new Uint8Array(48);
    longer.set(hostData);
    assert.equal((await a.bindInitData(longer)).status, "matched");
    await assert.rejects(a.bindInitData(new Uint8Array(32)), isMismatch(/HOST_DATA/));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
