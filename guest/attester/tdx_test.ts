/**
 * The TDX attester against a fake configfs-tsm tree: report data reaches `inblob`, the quote
 * comes back from `outblob`, the entry is removed, and the evidence carries the CCEL (+ AAEL)
 * as the verifier reads it (parsed back here with the shared quote and event-log parsers).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ALG_SHA384, encodeAaelEvent, parseCcEventLog } from "@coco/lib/eventlog";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import { AttesterError } from "./errors.ts";
import { createAttester } from "./mod.ts";
import { tdxEventLog, tdxEvidenceProvider, tdxQuote, type TsmFs } from "./tdx.ts";

const D = new URL("../../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const haveShared = await Deno.stat(D).then(() => true, () => false);

/** A fake kernel: entries get provider/outblob/generation files when created. */
function fakeTsm(quote: Uint8Array, provider = "tdx_guest", race = false) {
  const seen: { inblob?: Uint8Array; removed: string[] } = { removed: [] };
  let generation = 1;
  const fs: TsmFs = {
    async mkdir(entry) {
      await Deno.mkdir(entry);
      await Deno.writeTextFile(join(entry, "provider"), provider + "\n");
      await Deno.writeFile(join(entry, "outblob"), quote);
    },
    async readFile(p) {
      if (p.endsWith("/generation")) {
        // A racing writer bumps the generation between our two reads.
        const g = race ? generation++ : generation;
        return new TextEncoder().encode(`${g}\n`);
      }
      return await Deno.readFile(p);
    },
    async writeFile(p, d) {
      seen.inblob = d;
      await Deno.writeFile(p, d);
    },
    async rmdir(p) {
      seen.removed.push(p);
      await Deno.remove(p, { recursive: true });
    },
  };
  return { fs, seen };
}

async function fakeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tdx-root-" });
  await Deno.mkdir(join(root, "sys/kernel/config/tsm/report"), { recursive: true });
  return root;
}

Deno.test({
  name: "tdxEvidenceProvider() returns {cc_eventlog, quote} from configfs-tsm and the CCEL",
  ignore: !haveShared,
  async fn() {
    const root = await fakeRoot();
    try {
      const quote = await Deno.readFile(new URL("tdx_quote_6.dat", D));
      await Deno.mkdir(join(root, "sys/firmware/acpi/tables/data"), { recursive: true });
      await Deno.copyFile(
        new URL("CCEL_data", D),
        join(root, "sys/firmware/acpi/tables/data/CCEL"),
      );
      const aael = encodeAaelEvent({ domain: "d", operation: "o", content: "c" }, 4, ALG_SHA384);
      await Deno.mkdir(join(root, "run/attestation-agent"), { recursive: true });
      await Deno.writeFile(join(root, "run/attestation-agent/eventlog"), aael.bytes);
      const { fs, seen } = fakeTsm(quote);
      const ev = await tdxEvidenceProvider({ root, fs }).primaryEvidence(
        new Uint8Array(48).fill(9),
      );
      const o = ev as { cc_eventlog: string; quote: string };
      assert.deepEqual(Object.keys(o), ["cc_eventlog", "quote"]);
      assert.equal(parseTdxQuote(Uint8Array.fromBase64(o.quote)).header.version, 4);
      assert.deepEqual(
        seen.inblob,
        new Uint8Array([...new Uint8Array(48).fill(9), ...new Uint8Array(16)]),
      );
      assert.equal(seen.removed.length, 1);
      const log = parseCcEventLog(Uint8Array.fromBase64(o.cc_eventlog));
      assert.equal(log.entries.length, 6);
      assert.equal(log.entries[5]!.typeName, "EV_EVENT_TAG");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("tdxQuote() rejects oversized report data, a foreign provider and a raced generation", async () => {
  const root = await fakeRoot();
  try {
    await assert.rejects(tdxQuote(new Uint8Array(65), { root }), AttesterError);
    await assert.rejects(
      tdxQuote(new Uint8Array(1), { root, fs: fakeTsm(new Uint8Array(1), "sev_guest").fs }),
      /provider is "sev_guest", not tdx_guest/,
    );
    const raced = fakeTsm(new Uint8Array(1), "tdx_guest", true);
    await assert.rejects(
      tdxQuote(new Uint8Array(1), { root, fs: raced.fs }),
      /written by another process/,
    );
    assert.equal(raced.seen.removed.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tdxEventLog() is null without CCEL and AAEL, and prepends the spec-id header to a lone AAEL", async () => {
  const root = await fakeRoot();
  try {
    assert.equal(await tdxEventLog({ root }), null);
    const aael = encodeAaelEvent({ domain: "d", operation: "o", content: "c" }, 4, ALG_SHA384);
    const path = join(root, "aael");
    await Deno.writeFile(path, aael.bytes);
    const log = parseCcEventLog(
      Uint8Array.fromBase64((await tdxEventLog({ root, aaelPath: path }))!),
    );
    assert.equal(log.digestSizes.get(ALG_SHA384), 48);
    assert.equal(log.entries.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("createAttester() builds the tdx provider", () => {
  assert.equal(createAttester({ tee: "tdx", root: "/nonexistent" }).tee, "tdx");
});
