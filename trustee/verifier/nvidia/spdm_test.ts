import assert from "node:assert/strict";
import { concat } from "@coco/lib/bytes";
import { VerifierError } from "../types.ts";
import { decodeOpaqueData, parseNvidiaReport } from "./mod.ts";
import { block, opaqueItem, report, requiredOpaque } from "./_build.ts";
import { vector } from "./_testdata.ts";

function fails(f: () => unknown, message: string) {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof VerifierError);
    assert.equal(err.code, "bad-evidence");
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("parseNvidiaReport() reads the Hopper vector's layout", async () => {
  const bytes = Uint8Array.fromHex((await vector("hopperAttestationReport.txt")).trim());
  const r = parseNvidiaReport(bytes);
  assert.equal(r.length, 4117);
  assert.equal(r.signedLength, 4021);
  assert.equal(
    r.request.nonce.toHex(),
    "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
  );
  assert.equal(r.request.param2, 0xff);
  assert.equal(r.response.blocks.length, 64);
  assert.deepStrictEqual(
    r.response.blocks.map((b) => b.index),
    Array.from({ length: 64 }, (_, i) => i + 1),
  );
  assert.equal(r.response.signature.length, 96);
});

Deno.test("parseNvidiaReport() ignores bytes after the signature (CoCo vector)", async () => {
  const bytes = Uint8Array.fromHex((await vector("hopper_coco_report1.txt")).trim());
  const r = parseNvidiaReport(bytes);
  assert.equal(bytes.length, 4130);
  assert.equal(r.length, 4129);
  assert.equal(r.signedLength, 4033);
});

const good = report();
const withByte = (at: number, v: number) => {
  const b = good.slice();
  b[at] = v;
  return b;
};

const hostile: [string, Uint8Array, string][] = [
  ["shorter than the request", good.subarray(0, 36), "Attestation report data is too small"],
  ["request version 1.0", withByte(0, 0x10), "SPDM version 0x10 not supported"],
  [
    "another request code",
    withByte(1, 0x81),
    "SPDM request code 0x81 is not GET_MEASUREMENTS (0xe0)",
  ],
  [
    "no signature requested",
    withByte(2, 0),
    "SPDM GET_MEASUREMENTS request did not ask for a signature",
  ],
  [
    "no response header",
    good.subarray(0, 40),
    "SpdmGetMeasurementsResponse header overflow: needs 8 byte(s) at offset 37, report has 40",
  ],
  ["response version 1.2", withByte(37, 0x12), "SPDM version 0x12 not supported"],
  [
    "another response code",
    withByte(38, 0x7f),
    "SPDM response code 0x7f is not MEASUREMENTS (0x60)",
  ],
  [
    "record length beyond the report",
    report({ recordLength: 0xffffff }),
    "MeasurementRecord overflow: needs 16777215 byte(s) at offset 45, report has 363",
  ],
  [
    "more blocks than the record holds",
    report({ blockCount: 3 }),
    "MeasurementBlock overflow: needs 4 byte(s) at offset 110, report has 110",
  ],
  [
    "fewer blocks than the record holds",
    report({ blockCount: 1 }),
    "MeasurementRecord has 55 byte(s) after its 1 block(s)",
  ],
  [
    "a non-DMTF block",
    report({ blocks: [Uint8Array.of(1, 2, 3, 0, 1, 0, 0)] }),
    "Only measurements encoded in the DMTF layout are supported",
  ],
  [
    "a block size beyond the record",
    report({ blocks: [Uint8Array.of(1, 1, 9, 0, 1, 0, 0)] }),
    "Measurement overflow: needs 9 byte(s) at offset 4, report has 7",
  ],
  [
    "a DMTF value size not matching the block",
    report({ blocks: [Uint8Array.of(1, 1, 4, 0, 1, 2, 0, 0)] }),
    "DMTF measurement of block 1 declares 2 value bytes in a 4-byte block",
  ],
  [
    "a DMTF measurement under 3 bytes",
    report({ blocks: [Uint8Array.of(1, 1, 2, 0, 1, 0)] }),
    "DMTF measurement of block 1 must be at least 3 bytes",
  ],
  [
    "a duplicated block index",
    report({ blocks: [block(1), block(1)] }),
    "Duplicated measurement block index 1",
  ],
  [
    "a missing signature",
    report().subarray(0, good.length - 1),
    `Signature overflow: needs 96 byte(s) at offset ${good.length - 96}, report has ${
      good.length - 1
    }`,
  ],
];
for (const [what, bytes, message] of hostile) {
  Deno.test(`parseNvidiaReport() rejects ${what}`, () =>
    fails(() => parseNvidiaReport(bytes), message));
}

Deno.test("decodeOpaqueData() decodes each value kind as Trustee", () => {
  const pdi = Uint8Array.from({ length: 16 }, (_, i) => i);
  const c = decodeOpaqueData(concat(
    requiredOpaque(),
    opaqueItem(11, "U"),
    opaqueItem(12, Uint8Array.of(1, 0, 0, 0, 0x82, 0, 0, 0)),
    opaqueItem(15, "882\0\0\0"),
    opaqueItem(22, pdi),
    opaqueItem(34, Uint8Array.of(2)),
    opaqueItem(36, Uint8Array.of(2, 0)),
    opaqueItem(14, Uint8Array.of(0xb1, 3, 0, 0)),
    opaqueItem(9, new Uint8Array(0)),
  ));
  assert.deepStrictEqual(c, {
    driver_version: "595.58.03",
    vbios_version: "98.02.81.00.01",
    fwid: "07".repeat(48),
    nvdec0_status: "U",
    measurement_count: { "1": 1, "2": 130 },
    chip_sku: "882",
    switch_pdi: ["0001020304050607", "08090a0b0c0d0e0f"],
    opaque_data_version: 2,
    feature_flag: "PPCIE",
    board_id: "b1030000",
    smc: "",
  });
  assert.equal(
    decodeOpaqueData(concat(requiredOpaque(), opaqueItem(36, Uint8Array.of(9)))).feature_flag,
    "unknown",
  );
});

const badOpaque: [string, Uint8Array, string][] = [
  [
    "an unknown type",
    concat(requiredOpaque(), opaqueItem(37, new Uint8Array(0))),
    "Invalid OpaqueDataType 37",
  ],
  [
    "a duplicated type",
    concat(requiredOpaque(), opaqueItem(3, "x")),
    "Duplicated OpaqueDataType: driver_version",
  ],
  [
    "a missing vbios version",
    opaqueItem(3, "1.0"),
    "Both vbios_version and driver_version must be present in the report",
  ],
  [
    "a trailing partial header",
    concat(requiredOpaque(), Uint8Array.of(0, 0, 0)),
    "OpaqueData item header overflow: 3 trailing byte(s)",
  ],
  [
    "an item longer than the data",
    concat(requiredOpaque(), Uint8Array.of(4, 0, 9, 0, 1)),
    "OpaqueData overflow: offset 0x52, data_size 0x9",
  ],
  [
    "a 1-byte vbios version",
    concat(opaqueItem(3, "1"), opaqueItem(6, Uint8Array.of(1))),
    "Invalid gpu vbios version",
  ],
  [
    "counts not a multiple of 4",
    concat(requiredOpaque(), opaqueItem(12, Uint8Array.of(1, 2, 3))),
    "OpaqueDataType is not multiple of 4",
  ],
  [
    "PDIs not a multiple of 8",
    concat(requiredOpaque(), opaqueItem(22, Uint8Array.of(1))),
    "OpaqueDataType is not multiple of 8",
  ],
  [
    "a 9-byte integer",
    concat(requiredOpaque(), opaqueItem(34, new Uint8Array(9))),
    "OpaqueDataType integer larger than 8 bytes",
  ],
  [
    "an integer beyond 2^53",
    concat(requiredOpaque(), opaqueItem(34, new Uint8Array(8).fill(0xff))),
    "OpaqueDataType integer 18446744073709551615 is too large",
  ],
];
for (const [what, bytes, message] of badOpaque) {
  Deno.test(`decodeOpaqueData() rejects ${what}`, () =>
    fails(() => decodeOpaqueData(bytes), message));
}

Deno.test("parseNvidiaReport() rejects opaque data that overruns the report", () => {
  const r = report();
  const b = r.slice();
  // OpaqueDataLength sits after request (37) + header (8) + record (110) + nonce (32).
  b[37 + 8 + 110 + 32] = 0xff;
  b[37 + 8 + 110 + 33] = 0xff;
  fails(
    () => parseNvidiaReport(b),
    `OpaqueData overflow: needs 65535 byte(s) at offset 189, report has ${r.length}`,
  );
});
