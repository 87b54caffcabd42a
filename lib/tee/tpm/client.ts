/**
 * TPM 2.0 command client over any {@linkcode TpmTransport}. Authorisation uses the password
 * session (TPM_RS_PW) with empty passwords, which is what a fresh TPM, swtpm and the AK
 * templates here need.
 */
import { TpmReader, TpmWriter } from "./buffer.ts";
import { DIGEST_SIZES, TPM_ALG, TPM_CC, TPM_RH, TPM_ST, TPMA_NV } from "./constants.ts";
import { TpmError } from "./errors.ts";
import { allPcrs, type PcrSelection, readPcrSelection, writePcrSelection } from "./pcr.ts";
import { marshalTpmPublic, readTpmPublic, type TpmPublic } from "./public.ts";
import { readTpmSignature, type TpmSignature } from "./signature.ts";
import { describeRc, RC_INITIALIZE } from "./rc.ts";
import { openTransport, type TpmTarget, type TpmTransport } from "./transport.ts";

/** A key loaded in the TPM. */
export interface LoadedKey {
  handle: number;
  public: TpmPublic;
  /** TPM2B_NAME contents (nameAlg ‖ digest). */
  name: Uint8Array;
}

/** Result of TPM2_Quote. */
export interface QuoteResult {
  /** TPMS_ATTEST bytes (the signed message). */
  attest: Uint8Array;
  /** Marshalled TPMT_SIGNATURE. */
  signatureBytes: Uint8Array;
  signature: TpmSignature;
}

const PW_SESSION = new TpmWriter().u32(TPM_RH.PW).u16(0).u8(0).u16(0).bytes();

/** TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: "send the command again". */
const RETRY_RCS: ReadonlySet<number> = new Set([0x922, 0x908, 0x90a]);
const MAX_RETRIES = 50;

const CC_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(TPM_CC).map(([k, v]) => [v, `TPM2_${k}`]),
);

/** Thin typed wrappers around TPM 2.0 commands. */
export class TpmClient {
  constructor(readonly transport: TpmTransport) {}

  /** Opens a transport to `target` and wraps it; `close()` releases it. */
  static async open(target: TpmTarget): Promise<TpmClient> {
    return new TpmClient(await openTransport(target));
  }

  /** Closes the transport. */
  close(): void {
    this.transport.close();
  }

  /** Sends a command; returns a reader over the response parameters after `nHandles` handles. */
  async #call(
    cc: number,
    handles: number[],
    authCount: number,
    params: Uint8Array,
    nHandles = 0,
  ): Promise<{ handles: number[]; r: TpmReader }> {
    const body = new TpmWriter();
    for (const h of handles) body.u32(h);
    if (authCount > 0) {
      body.u32(PW_SESSION.length * authCount);
      for (let i = 0; i < authCount; i++) body.raw(PW_SESSION);
    }
    body.raw(params);
    const tag = authCount > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS;
    const cmd = new TpmWriter().u16(tag).u32(10 + body.length).u32(cc).raw(body.bytes()).bytes();
    const name = CC_NAMES.get(cc) ?? `command 0x${cc.toString(16)}`;
    let r: TpmReader;
    let rtag: number;
    let rc: number;
    for (let attempt = 0;; attempt++) {
      r = new TpmReader(await this.transport.transmit(cmd), `${name} response`);
      rtag = r.u16("tag");
      r.u32("size");
      rc = r.u32("responseCode");
      // The TPM asks to resend (busy, self-test running): retry a bounded number of times.
      if (!RETRY_RCS.has(rc) || attempt >= MAX_RETRIES) break;
      await new Promise((ok) => setTimeout(ok, Math.min(100, 5 * (attempt + 1))));
    }
    if (rc !== 0) {
      throw new TpmError("tpm-response", `${name} failed: ${describeRc(rc)}`, { rc });
    }
    const outHandles: number[] = [];
    for (let i = 0; i < nHandles; i++) outHandles.push(r.u32("handle"));
    if (rtag === TPM_ST.SESSIONS) {
      const size = r.u32("parameterSize");
      return { handles: outHandles, r: new TpmReader(r.bytes(size, "parameters"), r.what) };
    }
    return { handles: outHandles, r };
  }

  /** TPM2_Startup(CLEAR); an already started TPM (TPM_RC_INITIALIZE) is fine. */
  async startup(): Promise<void> {
    try {
      await this.#call(TPM_CC.Startup, [], 0, new TpmWriter().u16(0).bytes());
    } catch (err) {
      if (err instanceof TpmError && err.rc === RC_INITIALIZE) return;
      throw err;
    }
  }

  /** TPM2_GetRandom; may return fewer bytes than asked (TPM limit is the largest digest). */
  async getRandom(n: number): Promise<Uint8Array> {
    const { r } = await this.#call(TPM_CC.GetRandom, [], 0, new TpmWriter().u16(n).bytes());
    return r.sized("randomBytes");
  }

  /** TPM2_PCR_Read of one bank, repeated until every selected PCR was returned. */
  async pcrRead(hash: number, pcrs: readonly number[]): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    let pending = [...pcrs];
    while (pending.length > 0) {
      const w = new TpmWriter();
      writePcrSelection(w, [{ hash, pcrs: pending }]);
      const { r } = await this.#call(TPM_CC.PCR_Read, [], 0, w.bytes());
      r.u32("pcrUpdateCounter");
      const got = readPcrSelection(r).find((s) => s.hash === hash)?.pcrs ?? [];
      const count = r.u32("TPML_DIGEST count");
      if (got.length === 0 || count !== got.length) {
        throw new TpmError(
          "unsupported",
          `TPM2_PCR_Read returned no values for bank 0x${hash.toString(16)} ` +
            `(PCRs ${pending.join(",")}): is the bank allocated?`,
        );
      }
      for (const p of got) out.set(p, r.sized("PCR value", 64));
      pending = pending.filter((p) => !out.has(p));
    }
    return out;
  }

  /** PCRs 0-23 of a bank, in index order. */
  async readAllPcrs(hash: number = TPM_ALG.SHA256): Promise<Uint8Array[]> {
    const sel = allPcrs(hash)[0]!;
    const values = await this.pcrRead(hash, sel.pcrs);
    return sel.pcrs.map((p) => values.get(p)!);
  }

  /** TPM2_PCR_Extend of one bank with a digest of that bank's size. */
  async pcrExtend(pcr: number, hash: number, digest: Uint8Array): Promise<void> {
    if (digest.length !== DIGEST_SIZES.get(hash)) {
      throw new TpmError(
        "malformed",
        `Cannot extend PCR ${pcr}: digest is ${digest.length} bytes, the bank needs ` +
          `${DIGEST_SIZES.get(hash) ?? "?"}`,
      );
    }
    const w = new TpmWriter().u32(1).u16(hash).raw(digest);
    await this.#call(TPM_CC.PCR_Extend, [pcr], 1, w.bytes());
  }

  /** TPM2_CreatePrimary in `hierarchy` from `template` (transient handle; flush it after use). */
  async createPrimary(hierarchy: number, template: TpmPublic): Promise<LoadedKey> {
    const pub = marshalTpmPublic(template);
    const w = new TpmWriter().u16(4).u16(0).u16(0); // TPM2B_SENSITIVE_CREATE: empty auth and data
    w.sized(pub).u16(0).u32(0); // outsideInfo, creationPCR
    const { handles, r } = await this.#call(TPM_CC.CreatePrimary, [hierarchy], 1, w.bytes(), 1);
    const outPublic = new TpmReader(r.sized("outPublic"), "TPMT_PUBLIC");
    const key = readTpmPublic(outPublic);
    r.sized("creationData");
    r.sized("creationHash");
    r.u16("creationTicket.tag");
    r.u32("creationTicket.hierarchy");
    r.sized("creationTicket.digest");
    const name = r.sized("name");
    return { handle: handles[0]!, public: key, name };
  }

  /** TPM2_ReadPublic of a loaded or persistent object. */
  async readPublic(handle: number): Promise<LoadedKey> {
    const { r } = await this.#call(TPM_CC.ReadPublic, [handle], 0, new Uint8Array());
    const key = readTpmPublic(new TpmReader(r.sized("outPublic"), "TPMT_PUBLIC"));
    return { handle, public: key, name: r.sized("name") };
  }

  /** TPM2_Quote over `selection` with `qualifyingData` as extraData, signed by `keyHandle`. */
  async quote(
    keyHandle: number,
    qualifyingData: Uint8Array,
    scheme: { alg: number; hash: number },
    selection: readonly PcrSelection[],
  ): Promise<QuoteResult> {
    const w = new TpmWriter().sized(qualifyingData).u16(scheme.alg).u16(scheme.hash);
    writePcrSelection(w, selection);
    const { r } = await this.#call(TPM_CC.Quote, [keyHandle], 1, w.bytes());
    const attest = r.sized("quoted");
    const sigStart = r.offset;
    const signature = readTpmSignature(r);
    return { attest, signature, signatureBytes: sliceFrom(r, sigStart) };
  }

  /** TPM2_FlushContext of a transient object or session. */
  async flushContext(handle: number): Promise<void> {
    await this.#call(TPM_CC.FlushContext, [], 0, new TpmWriter().u32(handle).bytes());
  }

  /** TPM2_NV_ReadPublic: the index's data size and attributes. */
  async nvReadPublic(index: number): Promise<{ size: number; attributes: number }> {
    const { r } = await this.#call(TPM_CC.NV_ReadPublic, [index], 0, new Uint8Array());
    const pub = new TpmReader(r.sized("nvPublic"), "TPMS_NV_PUBLIC");
    pub.u32("nvIndex");
    pub.u16("nameAlg");
    const attributes = pub.u32("attributes");
    pub.sized("authPolicy");
    return { attributes, size: pub.u16("dataSize") };
  }

  /** Reads a whole NV index in chunks, authorising with the index itself (or `authHandle`). */
  async nvRead(index: number, authHandle = index, chunk = 512): Promise<Uint8Array> {
    const { size } = await this.nvReadPublic(index);
    const out = new Uint8Array(size);
    for (let off = 0; off < size; off += chunk) {
      const n = Math.min(chunk, size - off);
      const w = new TpmWriter().u16(n).u16(off);
      const { r } = await this.#call(TPM_CC.NV_Read, [authHandle, index], 1, w.bytes());
      out.set(r.sized("data"), off);
    }
    return out;
  }

  /**
   * TPM2_NV_DefineSpace of an ordinary index of `size` bytes with an empty auth value and no
   * policy, authorised by `authHandle` (the owner by default). `attributes` are TPMA_NV bits;
   * the default is owner read and write, as the Azure tooling defines its user-data index.
   */
  async nvDefineSpace(
    index: number,
    size: number,
    attributes: number = TPMA_NV.OWNERREAD | TPMA_NV.OWNERWRITE,
    authHandle: number = TPM_RH.OWNER,
  ): Promise<void> {
    const pub = new TpmWriter().u32(index).u16(TPM_ALG.SHA256).u32(attributes).u16(0).u16(size);
    const w = new TpmWriter().u16(0).sized(pub.bytes());
    await this.#call(TPM_CC.NV_DefineSpace, [authHandle], 1, w.bytes());
  }

  /** TPM2_NV_UndefineSpace, authorised by `authHandle` (the owner by default). */
  async nvUndefineSpace(index: number, authHandle: number = TPM_RH.OWNER): Promise<void> {
    await this.#call(TPM_CC.NV_UndefineSpace, [authHandle, index], 1, new Uint8Array());
  }

  /**
   * TPM2_NV_Write of `data` from offset 0 in chunks (TPMs take at most MAX_NV_BUFFER_SIZE, often
   * 1024, per command), authorised by `authHandle` (the owner by default, as on Azure).
   */
  async nvWrite(
    index: number,
    data: Uint8Array,
    authHandle: number = TPM_RH.OWNER,
    chunk = 512,
  ): Promise<void> {
    for (let off = 0; off < data.length; off += chunk) {
      const w = new TpmWriter().sized(data.subarray(off, off + chunk)).u16(off);
      await this.#call(TPM_CC.NV_Write, [authHandle, index], 1, w.bytes());
    }
  }

  /**
   * TPM2_EvictControl: makes the loaded object `objectHandle` persistent at `persistentHandle`
   * (or, given a persistent handle as `objectHandle`, evicts it). Authorised by the owner.
   */
  async evictControl(
    objectHandle: number,
    persistentHandle: number,
    authHandle: number = TPM_RH.OWNER,
  ): Promise<void> {
    const w = new TpmWriter().u32(persistentHandle);
    await this.#call(TPM_CC.EvictControl, [authHandle, objectHandle], 1, w.bytes());
  }
}

function sliceFrom(r: TpmReader, start: number): Uint8Array {
  const end = r.offset;
  r.offset = start;
  return r.bytes(end - start, "signature");
}
