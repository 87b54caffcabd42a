import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import { applyConfigKeys, DEFAULT_AGENT_CONFIG } from "./config.ts";
import { startGuestComponents } from "./guest_components.ts";

Deno.test("api-server-rest starts with the AA and serves the configured APIs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gc-" });
  const config = applyConfigKeys(DEFAULT_AGENT_CONFIG, {
    tee: "sample",
    guest_components_procs: "api-server-rest",
    guest_components_rest_api: "attestation",
  }, "test");
  const gc = await startGuestComponents({
    config,
    logger: nullLogger,
    devices: [],
    aaSocket: `unix://${join(dir, "aa.sock")}`,
    restBind: "127.0.0.1:0",
  });
  try {
    assert.equal(gc.roles.length, 2);
    assert.ok(gc.restUrl);
    const ev = await fetch(`${gc.restUrl}/aa/evidence?runtime_data=hello`);
    assert.equal(ev.status, 200);
    const evidence = JSON.parse(await ev.text()) as { report_data: string };
    // The sample TEE's report carries the runtime data the container asked for.
    assert.ok(atob(evidence.report_data).startsWith("hello"), evidence.report_data);
    // resource is not among the exposed APIs.
    const res = await fetch(`${gc.restUrl}/cdh/resource/default/key/1`);
    await res.body?.cancel();
    assert.equal(res.status, 404);
  } finally {
    await gc.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("guest_components_rest_api takes only upstream's values", () => {
  assert.equal(DEFAULT_AGENT_CONFIG.guestComponentsRestApi, "resource");
  assert.throws(
    () => applyConfigKeys(DEFAULT_AGENT_CONFIG, { guest_components_rest_api: "everything" }, "t"),
    /guest_components_rest_api|"everything" is not one of/,
  );
});
