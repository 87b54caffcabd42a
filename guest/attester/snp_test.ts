import assert from "node:assert/strict";
import { encodeSnpCertTable, encodeSnpReport, parseSnpEvidence } from "@coco/lib/tee/snp";
import { SnpAttester, SnpAttesterError, type TsmFs } from "./snp.ts";
import { createAttester } from "./mod.ts";

const e2e = parseSnpEvidence(JSON.parse(Deno.readTextFileSync(
  new URL(
    "../../../shared/testdata/trustee/attestation-service/tests/e2e/evidence.json",
    import.meta.url,
  ),
)));
const reportBytes = encodeSnpReport(e2e.report);
const vcek = e2e.certChain![0]!.data;

interface FakeOptions {
  provider?: string;
  outblob?: Uint8Array;
  auxblob?: Uint8Array;
  /** Bump `generation` when outblob is read (another writer). */
  race?: boolean;
}

/** A temp dir emulating configfs-tsm: mkdir populates the attribute files, inblob → outblob. */
function fakeConfigfs(o: FakeOptions) {
  const writes: Record<string, Uint8Array> = {};
  let gen = 0;
  const fs: TsmFs = {
    async mkdir(p) {
      await Deno.mkdir(p);
      await Deno.writeTextFile(`${p}/provider`, `${o.provider ?? "sev_guest"}\n`);
      await Deno.writeTextFile(`${p}/generation`, "0\n");
    },
    async readFile(p) {
      if (o.race && p.endsWith("/outblob")) {
        await Deno.writeTextFile(p.replace(/outblob$/, "generation"), `${++gen}\n`);
      }
      return Deno.readFile(p);
    },
    async writeFile(p, d) {
      writes[p.slice(p.lastIndexOf("/") + 1)] = d;
      await Deno.writeFile(p, d);
      if (p.endsWith("/inblob")) {
        const dir = p.slice(0, -"/inblob".length);
        await Deno.writeTextFile(`${dir}/generation`, `${++gen}\n`);
        await Deno.writeFile(`${dir}/outblob`, o.outblob ?? reportBytes);
        if (o.auxblob) await Deno.writeFile(`${dir}/auxblob`, o.auxblob);
      }
    },
    rmdir: (p) => Deno.remove(p, { recursive: true }),
  };
  return { fs, writes };
}

async function withRoot(fn: (root: string) => Promise<void>) {
  const root = await Deno.makeTempDir();
  try {
    await fn(root);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(root)), [], "entry was not removed");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const rejectsCode = (p: Promise<unknown>, code: string, msg: RegExp) =>
  assert.rejects(
    p,
    (e: unknown) => e instanceof SnpAttesterError && e.code === code && msg.test(e.message),
  );

Deno.test("SnpAttester turns outblob + auxblob into evidence the verifier's parser reads", async () => {
  await withRoot(async (root) => {
    const auxblob = encodeSnpCertTable([{ cert_type: "VCEK", data: vcek }]);
    const { fs, writes } = fakeConfigfs({ auxblob });
    const a = new SnpAttester({ tsmRoot: root, fs });
    const evidence = await a.primaryEvidence(new Uint8Array([1, 2, 3]));
    const parsed = parseSnpEvidence(evidence);
    assert.deepEqual(encodeSnpReport(parsed.report), reportBytes);
    assert.deepEqual(parsed.certChain, [{ cert_type: "VCEK", data: vcek }]);
    assert.equal(writes.inblob?.length, 64);
    assert.deepEqual([...writes.inblob!.subarray(0, 4)], [1, 2, 3, 0]);
    assert.equal(new TextDecoder().decode(writes.privlevel), "0");
    assert.equal(a.tee, "snp");
    assert.equal(await a.additionalEvidence(), "");
  });
});

Deno.test("SnpAttester sends cert_chain null when the host gives no certificates", async () => {
  await withRoot(async (root) => {
    const evidence = await createAttester({
      tee: "snp",
      tsmRoot: root,
      fs: fakeConfigfs({}).fs,
    })
      .primaryEvidence(new Uint8Array(64));
    assert.equal((evidence as { cert_chain: unknown }).cert_chain, null);
  });
});

Deno.test("SnpAttester fails clearly on hostile or broken configfs", async () => {
  await withRoot(async (root) => {
    const cases: [FakeOptions, string, RegExp][] = [
      [{ provider: "tdx_guest" }, "wrong-provider", /provider is "tdx_guest", not sev_guest/],
      [{ outblob: new Uint8Array(100) }, "bad-report", /expected 1184 bytes, got 100/],
      [{ auxblob: new Uint8Array(30).fill(1) }, "bad-report", /certificate table/],
      [{ race: true }, "tsm-race", /written by another process/],
    ];
    for (const [o, code, msg] of cases) {
      const a = new SnpAttester({ tsmRoot: root, fs: fakeConfigfs(o).fs });
      await rejectsCode(a.primaryEvidence(new Uint8Array(8)), code, msg);
    }
    await rejectsCode(
      new SnpAttester({ tsmRoot: root }).primaryEvidence(new Uint8Array(65)),
      "report-data-too-long",
      /65 bytes, at most 64/,
    );
  });
  await rejectsCode(
    new SnpAttester({ tsmRoot: "/nonexistent/tsm/report" }).primaryEvidence(new Uint8Array(1)),
    "tsm-unavailable",
    /cannot create a configfs-tsm entry in \/nonexistent\/tsm\/report/,
  );
});
