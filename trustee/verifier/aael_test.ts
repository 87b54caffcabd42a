/** The AA event log in sample and tpm evidence reaches the claims (and is replayed for tpm). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { JsonValue } from "@coco/lib/json";
import { ALG_SHA256, ALG_SHA384, encodeAaelEvent } from "@coco/lib/eventlog";
import { spkiToPem } from "@coco/lib/tee/tpm";
import { concat } from "@coco/lib/bytes";
import { SampleVerifier } from "./sample/mod.ts";
import { TpmVerifier } from "./tpm/mod.ts";
import { softAk, softTpmEvidence } from "./tpm/_testing.ts";
import { VerifierError } from "./types.ts";

const PULL = {
  domain: "github.com/confidential-containers",
  operation: "PullImage",
  content: { image: "busybox", digest: "sha256:00" },
};

interface EventClaim {
  index: number;
  type_name: string;
  details: { data?: { operation: string; content: JsonValue } };
}

Deno.test("SampleVerifier renders aa_eventlog entries as uefi_event_logs claims", async () => {
  const ev = encodeAaelEvent(PULL, 17, ALG_SHA384);
  const [out] = await new SampleVerifier().evaluate({
    evidence: { svn: "1", report_data: "", aa_eventlog: ev.bytes.toBase64() },
  });
  const logs = out!.claims.uefi_event_logs as unknown as EventClaim[];
  assert.equal(logs.length, 1);
  assert.equal(logs[0]!.type_name, "EV_EVENT_TAG");
  assert.equal(logs[0]!.index, 17);
  assert.deepEqual(logs[0]!.details.data, PULL);
  await assert.rejects(
    new SampleVerifier().evaluate({
      evidence: { svn: "1", report_data: "", aa_eventlog: ev.bytes.subarray(0, 20).toBase64() },
    }),
    (e: unknown) =>
      e instanceof VerifierError && e.code === "bad-evidence" && /aa_eventlog/.test(e.message),
  );
});

Deno.test("TpmVerifier replays aa_eventlog into PCR 17 from its all-ones start", async () => {
  const ak = await softAk();
  const v = new TpmVerifier({ trustedAkKeys: [spkiToPem(ak.spki)] });
  const ev = encodeAaelEvent(PULL, 17, ALG_SHA256);
  const pcrs = Array.from({ length: 24 }, () => new Uint8Array(32));
  for (let i = 17; i <= 22; i++) pcrs[i] = new Uint8Array(32).fill(0xff);
  pcrs[17] = new Uint8Array(createHash("sha256").update(concat(pcrs[17]!, ev.digest)).digest());
  const nonce = new Uint8Array(64);
  const good = await softTpmEvidence(ak, nonce, pcrs);
  const [out] = await v.evaluate({
    evidence: { ...good, aa_eventlog: ev.bytes.toBase64() } as unknown as JsonValue,
  });
  const logs = out!.claims.uefi_event_logs as unknown as EventClaim[];
  assert.deepEqual(logs.map((l) => [l.index, l.details.data?.operation]), [[17, "PullImage"]]);

  // The same log against a PCR 17 that never saw the extend fails replay.
  pcrs[17] = new Uint8Array(32).fill(0xff);
  const stale = await softTpmEvidence(ak, nonce, pcrs);
  await assert.rejects(
    v.evaluate({
      evidence: { ...stale, aa_eventlog: ev.bytes.toBase64() } as unknown as JsonValue,
    }),
    (e: unknown) =>
      e instanceof VerifierError && e.code === "bad-evidence" &&
      /replay of PCR 17/.test(e.message),
  );
});
