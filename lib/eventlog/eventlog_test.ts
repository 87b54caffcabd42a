import assert from "node:assert/strict";
import { concat } from "../bytes.ts";
import {
  aaelOnlyHeader,
  ALG_SHA384,
  encodeAaelEvent,
  eventJson,
  EventLogError,
  formatDevicePath,
  parseCcEventLog,
  replayAndMatch,
  replayRegister,
  tcgAlgorithm,
  tcgHash,
  trimCcelData,
} from "./mod.ts";

const D = new URL("../../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const haveShared = await Deno.stat(D).then(() => true, () => false);
const t = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: !haveShared, fn });
const read = (f: string) => Deno.readFile(new URL(f, D));

const RTMRS: Record<string, string[]> = {
  CCEL_data: [
    "2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079664902e6f22c66f7c8213543f4",
    "0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28cd3cf",
    "0".repeat(96),
    "0".repeat(96),
  ],
  CCEL_data_ovmf: [
    "8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193",
    "775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c13c6",
    "94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25f34a",
    "0".repeat(96),
  ],
};

t("parseCcEventLog() + eventJson() reproduce Trustee's uefi_event_logs for CCEL_data", async () => {
  const expected = JSON.parse(
    await Deno.readTextFile(new URL("parse_tdx_claims_expected.json", D)),
  );
  const log = parseCcEventLog(await read("CCEL_data"));
  assert.equal(
    JSON.stringify(log.entries.map(eventJson)),
    JSON.stringify(expected.uefi_event_logs),
  );
});

t("replayRegister() reproduces the RTMRs of CCEL_data and CCEL_data_ovmf", async () => {
  for (const [file, rtmrs] of Object.entries(RTMRS)) {
    const log = parseCcEventLog(await read(file));
    rtmrs.forEach((want, i) =>
      assert.equal(replayRegister(log.entries, i + 1, ALG_SHA384).toHex(), want, `${file} RTMR${i}`)
    );
  }
});

t("replayAndMatch() names the register and the calculated value on mismatch", async () => {
  const log = parseCcEventLog(await read("CCEL_data"));
  assert.throws(
    () => replayAndMatch(log.entries, [{ index: 2, algId: ALG_SHA384, value: new Uint8Array(48) }]),
    (err: unknown) =>
      err instanceof EventLogError && err.code === "replay-mismatch" &&
      err.message.includes("[index = 2]. Calculated value: 0fa3be56"),
  );
});

t("eventJson() decodes OVMF details: EFI variables, device paths, strings", async () => {
  const events = parseCcEventLog(await read("CCEL_data_ovmf")).entries.map(eventJson);
  assert.equal(events.length, 20);
  assert.deepEqual(events[0]!.details, { string: "TdxTable" });
  assert.deepEqual(events[2]!.details, {
    unicode_name: "SecureBoot",
    unicode_name_length: 10,
    variable_data: "",
    variable_data_length: 0,
    variable_name: "61dfe48b-ca93-d211-aa0d-00e098032b8c",
  });
  const app = events.find((e) => e.type_name === "EV_EFI_BOOT_SERVICES_APPLICATION")!;
  assert.deepEqual(app.details, {
    device_paths: ["VenMedia(1428F772-B64A-441E-B8C3-9EBDD7F893C7,)", "File(kernel)"],
  });
});

t("trimCcelData() cuts the ACPI log area after the last event", async () => {
  const area = await read("CCEL_data");
  const trimmed = trimCcelData(area);
  assert.ok(trimmed.length < area.length);
  assert.deepEqual(parseCcEventLog(trimmed).entries.length, 5);
});

Deno.test("formatDevicePath() prints ACPI, PCI, HD and File nodes as Trustee does", () => {
  const bytes = Uint8Array.fromHex(
    "02010c00d041030a0000000001010600000104012a000f000000002800000000000000500300000000005e27f1007553d5439eb5de2add4c9932020204040e0062006f006f0074000000",
  );
  assert.deepEqual(formatDevicePath(bytes), [
    "ACPI(PNP0A03,0)",
    "Pci(0,1)",
    "HD(15,GPT,00F1275E-5375-43D5-9EB5-DE2ADD4C9932,0x2800,0x35000)",
    "File(boot)",
  ]);
  assert.deepEqual(formatDevicePath(Uint8Array.fromHex("05010500ab")), ["Path(5,1,ab)"]);
  assert.throws(() => formatDevicePath(Uint8Array.fromHex("0401ff00")), RangeError);
});

Deno.test("encodeAaelEvent() entries parse back as AAEL and replay into CC-MR 4", () => {
  const a = encodeAaelEvent(
    {
      domain: "github.com/confidential-containers",
      operation: "PullImage",
      content: { image: "busybox", digest: "sha256:ab" },
    },
    4,
    ALG_SHA384,
  );
  const b = encodeAaelEvent(
    { domain: "example.com", operation: "Note", content: "free text" },
    4,
    ALG_SHA384,
  );
  const log = parseCcEventLog(
    concat(aaelOnlyHeader(), a.bytes, b.bytes, new Uint8Array(8).fill(0xff)),
  );
  const json = log.entries.map(eventJson);
  assert.deepEqual(json[0]!.details, {
    data: {
      content: { digest: "sha256:ab", image: "busybox" },
      domain: "github.com/confidential-containers",
      operation: "PullImage",
    },
    string: 'github.com/confidential-containers PullImage {"digest":"sha256:ab","image":"busybox"}',
    unicode_name: "AAEL",
  });
  assert.deepEqual((json[1]!.details as Record<string, unknown>).data, {
    content: "free text",
    domain: "example.com",
    operation: "Note",
  });
  assert.equal(json[0]!.digest_matches_event, true);
  const sha384 = tcgAlgorithm(ALG_SHA384);
  const want = tcgHash(sha384, tcgHash(sha384, new Uint8Array(48), a.digest), b.digest);
  assert.equal(replayRegister(log.entries, 4, ALG_SHA384).toHex(), want.toHex());
});

Deno.test("encodeAaelEvent() refuses ambiguous entries", () => {
  assert.throws(
    () => encodeAaelEvent({ domain: "a b", operation: "x", content: "y" }, 4, ALG_SHA384),
    /domain/,
  );
  assert.throws(
    () => encodeAaelEvent({ domain: "a", operation: "x", content: "y\nz" }, 4, ALG_SHA384),
    /newline/,
  );
});

Deno.test("parseCcEventLog() rejects truncated logs and unknown ids", () => {
  const log = concat(
    aaelOnlyHeader(),
    encodeAaelEvent({ domain: "d", operation: "o", content: "c" }, 4, ALG_SHA384).bytes,
  );
  assert.throws(
    () => parseCcEventLog(log.subarray(0, log.length - 3)),
    (e: unknown) => e instanceof EventLogError && e.code === "truncated",
  );
  const badType = log.slice();
  badType[69 + 4] = 0x55;
  assert.throws(
    () => parseCcEventLog(badType),
    (e: unknown) => e instanceof EventLogError && e.code === "unknown-event-type",
  );
  const badAlg = log.slice();
  badAlg[69 + 12] = 0x99;
  assert.throws(
    () => parseCcEventLog(badAlg),
    (e: unknown) => e instanceof EventLogError && e.code === "unknown-algorithm",
  );
});
