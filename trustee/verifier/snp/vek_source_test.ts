import assert from "node:assert/strict";
import { join } from "node:path";
import { SnpVerifier } from "./mod.ts";
import { E2E_CLAIMS, e2eEvidence, rejectsWith } from "./_testdata.ts";

const HWID = E2E_CLAIMS.chip_id;
const vcekDer = () => Uint8Array.from(e2eEvidence().cert_chain![0]!.data);
const bare = () => ({ ...e2eEvidence(), cert_chain: null });

function fakeFetch(handler: (url: string) => Response) {
  const calls: string[] = [];
  const f = ((input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    calls.push(url);
    return Promise.resolve(handler(url));
  }) as typeof fetch;
  return { f, calls };
}

Deno.test("SnpVerifier finds the VCEK in collateralDir by TCB file name, then vcek.der", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = join(dir, "vcek", HWID);
    await Deno.mkdir(base, { recursive: true });
    const named = join(base, "bl10_tee00_snp23_ucode25_vcek.der");
    await Deno.writeFile(named, vcekDer());
    const v = new SnpVerifier({ collateralDir: dir });
    assert.deepEqual((await v.evaluate({ evidence: bare() }))[0]?.claims, E2E_CLAIMS);
    await Deno.rename(named, join(base, "vcek.der"));
    assert.equal((await v.evaluate({ evidence: bare() })).length, 1);
    await Deno.remove(join(base, "vcek.der"));
    await rejectsWith(
      v.evaluate({ evidence: bare() }),
      "collateral-unavailable",
      /no VCEK in the evidence and none for CHIP_ID 371c55d6d15cb50f… under/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SnpVerifier fetches the VCEK from the KDS once and caches it", async () => {
  const { f, calls } = fakeFetch(() => new Response(vcekDer()));
  const v = new SnpVerifier({ kdsUrl: "https://kds.test/one/", fetch: f });
  await v.evaluate({ evidence: bare() });
  await v.evaluate({ evidence: bare() });
  assert.deepEqual(calls, [
    `https://kds.test/one/vcek/v1/Genoa/${HWID}?blSPL=10&teeSPL=00&snpSPL=23&ucodeSPL=25`,
  ]);
});

Deno.test("SnpVerifier reports KDS failures as collateral-unavailable and retries later", async () => {
  let status = 404;
  const { f, calls } = fakeFetch(() => new Response(status === 200 ? vcekDer() : "no", { status }));
  const v = new SnpVerifier({ kdsUrl: "https://kds.test/two", fetch: f });
  await rejectsWith(v.evaluate({ evidence: bare() }), "collateral-unavailable", /HTTP 404/);
  status = 200;
  await v.evaluate({ evidence: bare() });
  assert.equal(calls.length, 2);
  const broken = new SnpVerifier({
    kdsUrl: "https://kds.test/three",
    fetch: (() => Promise.reject(new TypeError("network down"))) as typeof fetch,
  });
  await rejectsWith(
    broken.evaluate({ evidence: bare() }),
    "collateral-unavailable",
    /network down/,
  );
});

Deno.test("SnpVerifier cannot look up a VCEK for a masked CHIP_ID", async () => {
  const ev = bare();
  ev.attestation_report.chip_id = new Array(64).fill(0);
  const { f, calls } = fakeFetch(() => new Response(vcekDer()));
  await rejectsWith(
    new SnpVerifier({ kdsUrl: "https://kds.test/four", fetch: f }).evaluate({ evidence: ev }),
    "collateral-unavailable",
    /CHIP_ID is masked/,
  );
  assert.equal(calls.length, 0);
});
