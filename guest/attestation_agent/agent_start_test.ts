/** AttestationAgent.start(): init-data binding at start-up and the AAEL write-ahead recovery. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { nullLogger } from "@coco/lib/log";
import { ALG_SHA256, parseCryptoAgileEvents } from "@coco/lib/eventlog";
import {
  type Attester,
  type InitDataBinding,
  InitDataBindingError,
  type RuntimeRegisters,
} from "../attester/mod.ts";
import { AaError, AttestationAgent, defaultAaConfig } from "./mod.ts";
import { AaEventLog, EventLogWriteError } from "./eventlog.ts";

const INIT = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"x" = "y"\n';
const sha256 = (...p: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const b of p) h.update(b);
  return new Uint8Array(h.digest());
};

/** In-memory SHA-256 registers (a fake TPM). */
function memRegisters(failExtend = false) {
  const regs = new Map<number, Uint8Array>();
  const r: RuntimeRegisters & { regs: typeof regs } = {
    regs,
    algId: ALG_SHA256,
    supported: () => Promise.resolve(true),
    logIndex: (pcr) => pcr,
    extend(pcr, d) {
      if (failExtend) return Promise.reject(new Error("power cut"));
      regs.set(pcr, sha256(regs.get(pcr) ?? new Uint8Array(32), d));
      return Promise.resolve();
    },
    read: (pcr) => Promise.resolve(regs.get(pcr) ?? new Uint8Array(32)),
  };
  return r;
}

function fakeAttester(bind: (d: Uint8Array) => Promise<InitDataBinding>): Attester {
  return {
    tee: "tpm",
    additionalTees: [],
    primaryEvidence: () => Promise.resolve({}),
    additionalEvidence: () => Promise.resolve(""),
    bindInitData: bind,
  };
}

Deno.test("AttestationAgent.start() binds the init-data digest of the TOML text", async () => {
  let seen: Uint8Array | undefined;
  const agent = await AttestationAgent.start({
    attester: fakeAttester((d) => {
      seen = d;
      return Promise.resolve({ status: "matched", field: "PCR8" });
    }),
    config: defaultAaConfig(),
    initData: INIT,
    logger: nullLogger,
  });
  await agent.close();
  assert.deepEqual(seen, sha256(new TextEncoder().encode(INIT)));
});

Deno.test("AttestationAgent.start() refuses to start when the hardware value differs", async () => {
  await assert.rejects(
    AttestationAgent.start({
      attester: fakeAttester(() =>
        Promise.reject(
          new InitDataBindingError("init-data-mismatch", "digest does not match SNP HOST_DATA"),
        )
      ),
      config: defaultAaConfig(),
      initData: INIT,
      logger: nullLogger,
    }),
    (e: unknown) =>
      e instanceof AaError && e.code === "init-data-mismatch" && /HOST_DATA/.test(e.message),
  );
  await assert.rejects(
    AttestationAgent.start({
      attester: fakeAttester(() => Promise.resolve({ status: "unsupported", reason: "" })),
      config: defaultAaConfig(),
      initData: "algorithm = 1",
      logger: nullLogger,
    }),
    /init-data/,
  );
});

Deno.test("AaEventLog extends the register with the entry's digest and replays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const regs = memRegisters();
    const log = new AaEventLog(`${dir}/eventlog`, regs);
    await Promise.all([
      log.extend("d", "a", "1", 17),
      log.extend("d", "b", "2", 17),
      log.extend("d", "c", "3", 16),
    ]);
    const entries = parseCryptoAgileEvents(
      await Deno.readFile(`${dir}/eventlog`),
      new Map([[ALG_SHA256, 32]]),
    );
    assert.deepEqual(entries.map((e) => e.index), [17, 17, 16]);
    let v = new Uint8Array(32);
    for (const e of entries.filter((e) => e.index === 17)) v = sha256(v, e.digests[0]!.digest);
    assert.deepEqual(regs.regs.get(17), v);
    await assert.rejects(
      log.extend("d", "o", "x\ny", 17),
      (e: unknown) => e instanceof EventLogWriteError && e.code === "bad-event",
    );
    assert.equal(await log.recover(), "none");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AaEventLog.recover() finishes an extend interrupted before the register moved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const regs = memRegisters();
    await new AaEventLog(`${dir}/eventlog`, regs).extend("d", "first", "1", 17);
    // Crash after the WAL was written, before the extend.
    const broken = new AaEventLog(`${dir}/eventlog`, { ...memRegisters(true), read: regs.read });
    await assert.rejects(broken.extend("d", "second", "2", 17), /power cut/);
    const before = regs.regs.get(17)!;
    const log = new AaEventLog(`${dir}/eventlog`, regs);
    assert.equal(await log.recover(), "recovered");
    assert.notDeepEqual(regs.regs.get(17), before);
    const entries = parseCryptoAgileEvents(
      await Deno.readFile(`${dir}/eventlog`),
      new Map([[ALG_SHA256, 32]]),
    );
    assert.equal(entries.length, 2);
    let v = new Uint8Array(32);
    for (const e of entries) v = sha256(v, e.digests[0]!.digest);
    assert.deepEqual(regs.regs.get(17), v);
    // A register that moved elsewhere cannot be reconciled: the AA refuses to start.
    await assert.rejects(broken.extend("d", "third", "3", 17), /power cut/);
    regs.regs.set(17, new Uint8Array(32).fill(1));
    await assert.rejects(
      log.recover(),
      (e: unknown) => e instanceof EventLogWriteError && e.code === "wal-unrecoverable",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
