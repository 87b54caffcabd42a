import assert from "node:assert/strict";
import { AzVtpmError, type AzVtpmErrorCode } from "./az_errors.ts";
import { certificatePemToDer, imdsCertificates, imdsTdQuote } from "./az_imds.ts";

function isAzError(code: AzVtpmErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AzVtpmError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

const DER = Uint8Array.from([0x30, 0x82, 0x01, 0x00, ...new Array(60).fill(7)]);
const pem = (label: string, der: Uint8Array) =>
  `-----BEGIN ${label}-----\n${
    der.toBase64().match(/.{1,64}/g)!.join("\n")
  }\n-----END ${label}-----\n`;

type Handler = (req: Request) => Response | Promise<Response>;

interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string;
}

/** A loopback IMDS; `handler` answers every request, `seen` records them. */
async function withImds(handler: Handler, fn: (baseUrl: string, seen: Seen[]) => Promise<void>) {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const { method, url, headers } = req;
      seen.push({ method, url, headers, body: await req.text() });
      return handler(req);
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/`, seen);
  } finally {
    await server.shutdown();
  }
}

Deno.test("imdsCertificates() GETs THIM with Metadata: true and returns the VCEK as DER", async () => {
  const body = { vcekCert: pem("CERTIFICATE", DER), certificateChain: "ASK\nARK", tcbm: "x" };
  await withImds(() => Response.json(body), async (baseUrl, seen) => {
    const got = await imdsCertificates({ baseUrl });
    assert.deepEqual(got, { vcek: DER, chainPem: "ASK\nARK" });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, "GET");
    assert.equal(new URL(seen[0]!.url).pathname, "/metadata/THIM/amd/certification");
    assert.equal(seen[0]!.headers.get("Metadata"), "true");
  });
});

Deno.test("imdsTdQuote() POSTs the TDREPORT as base64url JSON and decodes the quote", async () => {
  const report = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff);
  const quote = Uint8Array.from({ length: 600 }, (_, i) => (i * 13) & 0xff);
  await withImds(
    () => Response.json({ quote: quote.toBase64({ alphabet: "base64url", omitPadding: true }) }),
    async (baseUrl, seen) => {
      assert.deepEqual(await imdsTdQuote(report, { baseUrl }), quote);
      assert.equal(seen[0]!.method, "POST");
      assert.equal(new URL(seen[0]!.url).pathname, "/acc/tdquote");
      assert.equal(seen[0]!.headers.get("Content-Type"), "application/json");
      const sent = JSON.parse(seen[0]!.body);
      assert.deepEqual(Object.keys(sent), ["report"]);
      assert.deepEqual(Uint8Array.fromBase64(sent.report, { alphabet: "base64url" }), report);
      assert.ok(!sent.report.includes("=") && !sent.report.includes("+"));
    },
  );
});

Deno.test("IMDS failures are named: HTTP error, refused, garbage, missing fields", async (t) => {
  const cases: [string, Handler, (baseUrl: string) => Promise<unknown>, AzVtpmErrorCode, RegExp][] =
    [
      [
        "HTTP 500",
        () => new Response("boom", { status: 500 }),
        (baseUrl) => imdsCertificates({ baseUrl }),
        "imds-unreachable",
        /Cannot get the VCEK from Azure IMDS http:\/\/127\.0\.0\.1:\d+\/metadata\/THIM\/amd\/certification: HTTP 500 boom/,
      ],
      [
        "not JSON",
        () => new Response("<html>"),
        (baseUrl) => imdsCertificates({ baseUrl }),
        "imds-bad-response",
        /the response is not a JSON object/,
      ],
      [
        "vcekCert missing",
        () => Response.json({ certificateChain: "" }),
        (baseUrl) => imdsCertificates({ baseUrl }),
        "imds-bad-response",
        /VCEK from Azure IMDS: vcekCert must be a string/,
      ],
      [
        "vcekCert not a certificate",
        () => Response.json({ vcekCert: pem("PUBLIC KEY", DER), certificateChain: "" }),
        (baseUrl) => imdsCertificates({ baseUrl }),
        "imds-bad-response",
        /vcekCert: expected one CERTIFICATE PEM block/,
      ],
      [
        "quote not base64url",
        () => Response.json({ quote: "**" }),
        (baseUrl) => imdsTdQuote(new Uint8Array(1024), { baseUrl }),
        "imds-bad-response",
        /TD quote from Azure IMDS: quote must be base64url/,
      ],
      [
        "quote too short",
        () => Response.json({ quote: "AAAA" }),
        (baseUrl) => imdsTdQuote(new Uint8Array(1024), { baseUrl }),
        "imds-bad-response",
        /the quote is 3 bytes, too short/,
      ],
    ];
  for (const [name, handler, call, code, message] of cases) {
    await t.step(name, () =>
      withImds(handler, async (baseUrl) => {
        await assert.rejects(call(baseUrl), isAzError(code, message));
      }));
  }
  await t.step("connection refused", async () => {
    let url = "";
    await withImds(() => new Response(), (baseUrl) => {
      url = baseUrl;
      return Promise.resolve();
    });
    await assert.rejects(
      imdsCertificates({ baseUrl: url }),
      isAzError("imds-unreachable", /Cannot get the VCEK from Azure IMDS http:\/\/127\.0\.0\.1/),
    );
  });
  await t.step("injected fetch that throws", async () => {
    await assert.rejects(
      imdsTdQuote(new Uint8Array(1024), {
        fetch: () => Promise.reject(new TypeError("network down")),
      }),
      isAzError(
        "imds-unreachable",
        /http:\/\/169\.254\.169\.254\/acc\/tdquote: TypeError: network down/,
      ),
    );
  });
});

Deno.test("certificatePemToDer() takes exactly one CERTIFICATE block", () => {
  assert.deepEqual(certificatePemToDer(pem("CERTIFICATE", DER)), DER);
  assert.throws(() => certificatePemToDer(pem("CERTIFICATE", DER).repeat(2)), /found 2 block/);
  assert.throws(() => certificatePemToDer("junk"), /found 0 block/);
  assert.throws(
    () => certificatePemToDer(pem("CERTIFICATE", new Uint8Array([1, 2, 3, 4]))),
    /not a DER SEQUENCE/,
  );
});
