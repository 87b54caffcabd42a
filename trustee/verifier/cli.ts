/**
 * `trustee verify`: check one piece of evidence offline with the same verifiers the attestation
 * service uses, and print its claims — or say which check failed.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import type { JsonValue } from "@coco/lib/json";
import { isTee, type Tee, TEES } from "@coco/lib/kbs";
import { createVerifier } from "./mod.ts";
import { VerifierError, type VerifierOptions, type VerifyInput } from "./types.ts";

function hex(name: string, v: string): Uint8Array {
  const s = v.startsWith("0x") ? v.slice(2) : v;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`--${name} must be hex`);
  return Uint8Array.fromHex(s);
}

/**
 * Reads evidence: a JSON document as the guest sends it, or for `tdx`/`sgx` a raw binary quote,
 * which is wrapped as `{"quote": "<base64>"}` (the upstream evidence shape without an event log).
 */
export async function readEvidence(tee: Tee, file: string): Promise<JsonValue> {
  const bytes = await Deno.readFile(file);
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    if (tee === "tdx" || tee === "sgx") return { quote: bytes.toBase64() };
    throw new Error(`${file} is not JSON evidence: ${(err as Error).message}`);
  }
}

/** Parses the options shared by `verify` into verifier construction options. */
export async function verifierOptions(o: {
  collateral?: string;
  now?: string;
  pccsUrl?: string;
  kdsUrl?: string;
  trustedAk: string[];
}): Promise<VerifierOptions> {
  const opts: VerifierOptions = {};
  if (o.collateral !== undefined) opts.collateralDir = o.collateral;
  if (o.now !== undefined) {
    const t = new Date(o.now);
    if (Number.isNaN(t.getTime())) throw new Error(`--now ${o.now} is not an ISO-8601 time`);
    opts.now = () => t;
  }
  if (o.pccsUrl !== undefined) opts.pccsUrl = o.pccsUrl;
  if (o.kdsUrl !== undefined) opts.kdsUrl = o.kdsUrl;
  if (o.trustedAk.length) {
    opts.trustedAkKeys = await Promise.all(o.trustedAk.map((f) => Deno.readTextFile(f)));
  }
  return opts;
}

/** The `verify` command. */
export function verifyCommand(): Command {
  return new Command("verify")
    .description(
      "verify evidence offline and print its claims as JSON, or exit 1 naming the failed check",
    )
    .requiredOption("--tee <tee>", `TEE type (${TEES.join(", ")})`)
    .requiredOption("--evidence <file>", "evidence JSON (or a raw quote for tdx/sgx)")
    .option("--report-data <hex>", "expected report data (checked when given)")
    .option("--init-data-digest <hex>", "expected init-data digest (HOSTDATA, MRCONFIGID, PCR8)")
    .option("--collateral <dir>", "offline collateral directory (TDX TCB info, CRLs; SNP VEKs)")
    .option("--pccs-url <url>", "PCCS/PCS base URL for TDX/SGX collateral")
    .option("--kds-url <url>", "AMD KDS base URL for SNP VCEKs")
    .option(
      "--trusted-ak <pem>",
      "trusted TPM AK public key (repeatable)",
      (v, p: string[]) => [...p, v],
      [],
    )
    .option("--now <iso8601>", "verification time for validity checks (default: now)")
    .action(async (o) => {
      if (!isTee(o.tee)) {
        throw new Error(`unknown --tee ${o.tee}; expected one of ${TEES.join(", ")}`);
      }
      const tee = o.tee;
      const input: VerifyInput = { evidence: await readEvidence(tee, o.evidence) };
      if (o.reportData !== undefined) input.reportData = hex("report-data", o.reportData);
      if (o.initDataDigest !== undefined) {
        input.initDataHash = hex("init-data-digest", o.initDataDigest);
      }
      const verifier = createVerifier(tee, await verifierOptions(o));
      let verified;
      try {
        verified = await verifier.evaluate(input);
      } catch (err) {
        if (err instanceof VerifierError) {
          throw new Error(`${tee} evidence rejected (${err.code}): ${err.message}`, { cause: err });
        }
        throw err;
      }
      const out = verified.length === 1
        ? verified[0]!.claims
        : verified.map((v) => ({ tee_class: v.teeClass, claims: v.claims }));
      console.log(JSON.stringify(out, null, 2));
    });
}
