import assert from "node:assert/strict";
import { runDeno } from "../../tests/harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("trustee verify: prints claims, or exits 1 naming the failed check", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ev = `${dir}/ev.json`;
    await Deno.writeTextFile(ev, JSON.stringify({ svn: "1", report_data: "AQID" }));
    const ok = await runDeno([
      "run",
      "-A",
      MAIN,
      "verify",
      "--tee",
      "sample",
      "--evidence",
      ev,
      "--report-data",
      "010203",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const claims = JSON.parse(ok.stdout);
    assert.equal(claims.svn, "1");
    assert.equal(claims.report_data, "AQID");

    const bad = await runDeno([
      "run",
      "-A",
      MAIN,
      "verify",
      "--tee",
      "sample",
      "--evidence",
      ev,
      "--report-data",
      "010204",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /report-data-mismatch/);
    assert.equal(bad.stdout, "");

    const unknown = await runDeno(["run", "-A", MAIN, "verify", "--tee", "nope", "--evidence", ev]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown --tee nope/);

    const badTime = await runDeno([
      "run",
      "-A",
      MAIN,
      "verify",
      "--tee",
      "sample",
      "--evidence",
      ev,
      "--now",
      "yesterday",
    ]);
    assert.equal(badTime.code, 1);
    assert.match(badTime.stderr, /not an ISO-8601 time/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
