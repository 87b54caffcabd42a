/**
 * Loading policy files, public keys and similar by URI (spec/guest.md §5.2): a bare path or
 * `file://` URL is read from disk; `kbs:///…` (and `kbs+plugin://`) is fetched through the CDH
 * after attestation with the injected getter; any other scheme is an error.
 */
import { fileURLToPath } from "node:url";
import { SignatureError } from "./errors.ts";

/** Fetches bytes for a location. */
export type ResourceLoader = (location: string) => Promise<Uint8Array>;

/** Builds the standard loader; `getResource` is the CDH's GetResource (absent: kbs URIs fail). */
export function resourceLoader(deps: {
  getResource?: (uri: string) => Promise<Uint8Array>;
  readFile?: (path: string) => Promise<Uint8Array>;
} = {}): ResourceLoader {
  const read = deps.readFile ?? ((p: string) => Deno.readFile(p));
  return async (location) => {
    const fail = (err: unknown): never => {
      throw new SignatureError(
        "unavailable",
        `Cannot load ${location}: ${(err as Error).message ?? err}`,
        { cause: err },
      );
    };
    if (/^kbs(\+[\w-]+)?:\/\//.test(location)) {
      if (!deps.getResource) {
        return fail(new Error("no confidential data hub to fetch kbs:// from"));
      }
      try {
        return await deps.getResource(location);
      } catch (err) {
        return fail(err);
      }
    }
    let path = location;
    if (location.startsWith("file://")) path = fileURLToPath(location);
    else if (location.includes("://")) return fail(new Error("unsupported scheme"));
    try {
      return await read(path);
    } catch (err) {
      return fail(err);
    }
  };
}
