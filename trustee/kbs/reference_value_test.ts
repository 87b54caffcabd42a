import assert from "node:assert/strict";
import { Rvps } from "../rvps/mod.ts";
import { downStore } from "../rvps/_testing.ts";
import { testKbs } from "./_testing.ts";

Deno.test("GET/POST /kbs/v0/reference-value answer 503 StorageUnavailable when storage is down", async () => {
  const t = await testKbs();
  try {
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    t.kbs.deps.rvps = new Rvps(downStore());
    const get = await t.call("GET", "/kbs/v0/reference-value/svn", { headers: admin });
    assert.equal(get.status, 503);
    assert.equal(get.headers.get("retry-after"), "1");
    const body = await get.json();
    assert.equal(
      body.type,
      "https://github.com/confidential-containers/kbs/errors/StorageUnavailable",
    );
    assert.match(body.detail, /Cannot reach the database for svn/);
    const post = await t.call("POST", "/kbs/v0/reference-value", {
      headers: admin,
      body: JSON.stringify({
        version: "0.1.0",
        type: "sample",
        payload: btoa(JSON.stringify({ svn: ["1"] })),
      }),
    });
    assert.equal(post.status, 503);
    assert.match((await post.json()).type, /StorageUnavailable$/);
  } finally {
    await t.close();
  }
});
