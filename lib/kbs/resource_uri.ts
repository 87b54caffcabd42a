/**
 * `kbs://` resource URIs (spec/guest.md §2.6) and KBS resource path checks (spec/trustee.md §2.1).
 */
import { CodedError } from "../errors.ts";

export class ResourceUriError extends CodedError<"bad-uri"> {}

/** A parsed `kbs[+plugin]://[host[:port]]/seg/…[?query]`. */
export interface ResourceUri {
  plugin: string;
  /** Authority as written; parsed but ignored by clients (they use the configured KBS URL). */
  authority: string;
  path: string[];
  query?: string;
}

const SCHEME = /^kbs(?:\+([A-Za-z0-9_-]+))?:\/\/([^/?#]*)(\/[^?#]*)(?:\?([^#]*))?$/;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Parses a `kbs://` URI. `kbs://` means plugin `resource`; `kbs+://` is invalid. */
export function parseResourceUri(uri: string): ResourceUri {
  const m = SCHEME.exec(uri);
  if (!m) {
    throw new ResourceUriError(
      "bad-uri",
      `Cannot parse resource URI \`${uri}\`: expected kbs[+plugin]://[host]/segment[/segment…]`,
    );
  }
  const path = m[3]!.slice(1).split("/");
  if (path.some((s) => !SEGMENT.test(s))) {
    throw new ResourceUriError(
      "bad-uri",
      `Cannot parse resource URI \`${uri}\`: path segments must match [A-Za-z0-9_-][A-Za-z0-9_.-]*`,
    );
  }
  const out: ResourceUri = { plugin: m[1] ?? "resource", authority: m[2]!, path };
  if (m[4] !== undefined && m[4] !== "") out.query = m[4];
  return out;
}

/** The KBS URL path for a resource URI: `/kbs/v0/<plugin>/<segments>[?query]`. */
export function resourceUriToKbsPath(uri: ResourceUri): string {
  return `/kbs/v0/${uri.plugin}/${uri.path.join("/")}${uri.query ? "?" + uri.query : ""}`;
}

/** Canonical text (drops `+resource`). */
export function formatResourceUri(uri: ResourceUri): string {
  const plugin = uri.plugin === "resource" ? "" : `+${uri.plugin}`;
  return `kbs${plugin}://${uri.authority}/${uri.path.join("/")}${uri.query ? "?" + uri.query : ""}`;
}

/** True if `segments` is a valid `<repository>/<type>/<tag>` resource path. */
export function isResourcePath(segments: readonly string[]): boolean {
  return segments.length === 3 && segments.every((s) => SEGMENT.test(s));
}
