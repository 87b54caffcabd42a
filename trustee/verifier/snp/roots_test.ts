import assert from "node:assert/strict";
import { amdRoots, verifyChain } from "./chain.ts";
import { AMD_ROOT_PEMS } from "./roots.ts";
import { derUint, parseAmdCert, pemToDers, vekHwId, vekProductName, vekTcb } from "./x509.ts";
import { rejectsWith, snpFile } from "./_testdata.ts";

const sha256 = async (b: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b))).toHex();

// spec/evidence.md §3.5: SHA-256 of the DER of every embedded certificate.
const PINNED = {
  Milan: {
    ask: "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
    ark: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    asvk: "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
  },
  Genoa: {
    ask: "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
    ark: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    asvk: "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
  },
  Turin: {
    ask: "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
    ark: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    asvk: "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
  },
} as const;

Deno.test("embedded AMD roots are the pinned certificates and chain to their ARK", async () => {
  for (const product of ["Milan", "Genoa", "Turin"] as const) {
    for (const role of ["ark", "ask", "asvk"] as const) {
      const ders = pemToDers(AMD_ROOT_PEMS[product][role]);
      assert.equal(ders.length, 1);
      assert.equal(await sha256(ders[0]!), PINNED[product][role], `${product} ${role}`);
    }
    const roots = await amdRoots(product);
    assert.equal(roots.ark.subjectCn, `ARK-${product}`);
    assert.equal(roots.ask.subjectCn, `SEV-${product}`);
    assert.equal(roots.asvk.subjectCn, `SEV-VLEK-${product}`);
  }
});

Deno.test("vekTcb()/vekHwId() read legacy and OCTET STRING hwIDs and 2-byte INTEGERs", () => {
  const vcek = parseAmdCert(snpFile("test-vcek.der"));
  assert.deepEqual(vekTcb(vcek), { bootloader: 3, tee: 0, snp: 8, microcode: 115, fmc: undefined });
  assert.equal(vekHwId(vcek)?.length, 64);
  assert.equal(vekProductName(vcek), "Milan-B0");
  const seq = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const f of ["test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"]) {
    assert.deepEqual(vekHwId(parseAmdCert(snpFile(f))), seq, f);
  }
  const vlek = parseAmdCert(snpFile("test-vlek.der"));
  assert.equal(vekTcb(vlek).microcode, 217);
  assert.equal(vekHwId(vlek), undefined);
  assert.equal(vlek.subjectCn, "SEV-VLEK");
});

Deno.test("derUint() rejects negative and malformed INTEGERs", () => {
  assert.equal(derUint(Uint8Array.of(2, 2, 0, 0xd9)), 217);
  for (const bad of [[2, 1, 0x80], [4, 1, 1], [2, 5, 1], [2, 0]]) {
    assert.throws(() => derUint(Uint8Array.from(bad)), TypeError);
  }
});

Deno.test("the synthetic VCEKs do not chain to the Milan ASK", async () => {
  for (const f of ["test-vcek-invalid-legacy.der", "test-vcek-invalid-new.der"]) {
    await rejectsWith(
      verifyChain({ product: "Milan", kind: "VCEK", vek: parseAmdCert(snpFile(f)) }),
      "bad-certificate-chain",
      /chain check failed \(VCEK under ASK \(SEV-Milan\)\): signature does not verify/,
    );
  }
});

Deno.test("a VCEK does not chain under another product's ASK", async () => {
  const vek = parseAmdCert(snpFile("test-vcek.der"));
  await verifyChain({ product: "Milan", kind: "VCEK", vek });
  await rejectsWith(
    verifyChain({ product: "Genoa", kind: "VCEK", vek }),
    "bad-certificate-chain",
    /VCEK under ASK \(SEV-Genoa\)/,
  );
  // A VLEK is checked under the ASVK, never the ASK.
  const vlek = parseAmdCert(snpFile("test-vlek.der"));
  await verifyChain({ product: "Milan", kind: "VLEK", vek: vlek });
  await rejectsWith(
    verifyChain({ product: "Milan", kind: "VCEK", vek: vlek }),
    "bad-certificate-chain",
    /VCEK under ASK/,
  );
});
