/**
 * The init-data digest the AA binds at start-up: the document's own algorithm over the exact
 * TOML bytes (spec/guest.md §8.1), or a digest given on the command line (`--initdata-digest`).
 */
import type { HashAlgorithm } from "@coco/lib/kbs";
import { initDataDigest, parseInitDataToml } from "@coco/lib/initdata";

/** Digest and algorithm of an init-data TOML document (throws on a malformed one). */
export function initDataDigestOf(text: string): { digest: Uint8Array; algorithm: HashAlgorithm } {
  const { algorithm } = parseInitDataToml(text);
  return { digest: initDataDigest(text, algorithm), algorithm };
}
