/**
 * Scope resolution for the `docker` transport, as containers/image does it for both policy.json
 * and registries.d: the full reference (`host/repo:tag`, `host/repo@digest`), the repository,
 * each parent namespace up to `host[:port]`, then `*.domain` wildcards from the most specific
 * (port stripped). Callers then fall back to `""` / `default` themselves.
 */
import type { ImageReference } from "@coco/lib/oci";

/** Candidate scope keys for `ref`, most specific first. */
export function dockerScopes(ref: ImageReference): string[] {
  let full = ref.name;
  if (ref.tag !== undefined) full += `:${ref.tag}`;
  if (ref.digest !== undefined) full += `@${ref.digest}`;
  const out = [full];
  let name = ref.name;
  out.push(name);
  for (let i = name.lastIndexOf("/"); i !== -1; i = name.lastIndexOf("/")) {
    name = name.slice(0, i);
    out.push(name);
  }
  const colon = name.indexOf(":");
  if (colon !== -1) name = name.slice(0, colon);
  for (let dot = name.indexOf("."); dot !== -1; dot = name.indexOf(".")) {
    name = name.slice(dot + 1);
    out.push(`*.${name}`);
  }
  return out;
}

/** The first scope of `scopes` present in `table`, with its value. */
export function lookupScope<T>(
  ref: ImageReference,
  table: Record<string, T> | undefined,
): { scope: string; value: T } | undefined {
  if (!table) return undefined;
  for (const scope of dockerScopes(ref)) {
    if (Object.hasOwn(table, scope)) return { scope, value: table[scope]! };
  }
  return undefined;
}
