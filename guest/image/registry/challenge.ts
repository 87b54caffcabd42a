/**
 * `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="…",service="…",scope="…"` and
 * `Basic realm="…"`, parsed without regex backtracking on hostile input.
 *
 * @module
 */

/** One authentication challenge. */
export interface Challenge {
  /** Lowercased scheme (`bearer`, `basic`). */
  scheme: string;
  /** Parameters with lowercased names. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Parses a `WWW-Authenticate` header into its challenges (unknown syntax is skipped). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header.slice(0, 8192);
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const token = () => {
    const start = i;
    while (i < s.length && TOKEN.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const word = token();
    if (word === "") {
      i++;
      continue;
    }
    skipWs();
    if (s[i] === "=" && current) {
      i++;
      skipWs();
      current.params[word.toLowerCase()] = s[i] === '"' ? quoted() : token();
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;

  function quoted(): string {
    i++;
    let v = "";
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++;
    return v;
  }
}
