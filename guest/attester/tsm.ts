/**
 * One report request through Linux configfs-tsm (`Documentation/ABI/testing/configfs-tsm`):
 * mkdir an entry under the report directory, check `provider`, optionally write `privlevel`,
 * write `inblob`, read `outblob` and `auxblob`, check `generation` did not move (another writer
 * raced us), rmdir. The root and the file operations are injectable so tests run against a fake
 * directory that emulates the kernel's files.
 */
import { CodedError } from "@coco/lib/errors";

/** Why a configfs-tsm request failed. */
export type TsmErrorCode = "tsm-unavailable" | "wrong-provider" | "tsm-race";

/** A configfs-tsm request failed; the message names the step. */
export class TsmError extends CodedError<TsmErrorCode> {}

/** What one configfs-tsm request returned. */
export interface TsmReport {
  outblob: Uint8Array;
  /** Empty when the provider has no auxiliary blob (e.g. no host certificates). */
  auxblob: Uint8Array;
}

/** File operations on configfs (the real ones by default). */
export interface TsmFs {
  mkdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Removes an (empty) entry directory. */
  rmdir(path: string): Promise<void>;
}

/** configfs through Deno's file-system API. */
export const denoTsmFs: TsmFs = {
  mkdir: (p) => Deno.mkdir(p),
  readFile: (p) => Deno.readFile(p),
  writeFile: (p, d) => Deno.writeFile(p, d),
  rmdir: (p) => Deno.remove(p),
};

/** Request options. */
export interface TsmRequest {
  /** Report directory, normally `/sys/kernel/config/tsm/report`. */
  root: string;
  /** Required `provider` value (e.g. `sev_guest`). */
  provider: string;
  inblob: Uint8Array;
  /** Written to `privlevel` when set (SNP: the VMPL to request the report at). */
  privlevel?: number | undefined;
  fs?: TsmFs | undefined;
  /** What is being produced, for messages ("SNP evidence", "TDX quote"). */
  what: string;
}

async function readOptional(fs: TsmFs, path: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return new Uint8Array();
    throw err;
  }
}

const text = async (fs: TsmFs, path: string) =>
  new TextDecoder().decode(await fs.readFile(path)).trim();

/** Runs one configfs-tsm report request and always removes its entry. */
export async function tsmReport(req: TsmRequest): Promise<TsmReport> {
  const fs = req.fs ?? denoTsmFs;
  const dir = `${req.root}/coco-${crypto.randomUUID()}`;
  try {
    await fs.mkdir(dir);
  } catch (err) {
    throw new TsmError(
      "tsm-unavailable",
      `Cannot get ${req.what}: cannot create a configfs-tsm entry in ${req.root}: ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  try {
    const provider = await text(fs, `${dir}/provider`);
    if (provider !== req.provider) {
      throw new TsmError(
        "wrong-provider",
        `Cannot get ${req.what}: configfs-tsm provider is ${
          JSON.stringify(provider)
        }, not ${req.provider}`,
      );
    }
    if (req.privlevel !== undefined) {
      await fs.writeFile(`${dir}/privlevel`, new TextEncoder().encode(String(req.privlevel)));
    }
    await fs.writeFile(`${dir}/inblob`, req.inblob);
    const before = await text(fs, `${dir}/generation`);
    const outblob = await fs.readFile(`${dir}/outblob`);
    const auxblob = await readOptional(fs, `${dir}/auxblob`);
    if (await text(fs, `${dir}/generation`) !== before) {
      throw new TsmError(
        "tsm-race",
        `Cannot get ${req.what}: configfs-tsm entry ${dir} was written by another process during the request`,
      );
    }
    return { outblob, auxblob };
  } catch (err) {
    if (err instanceof TsmError) throw err;
    throw new TsmError(
      "tsm-unavailable",
      `Cannot get ${req.what}: configfs-tsm request in ${dir} failed: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await fs.rmdir(dir).catch(() => {});
  }
}
