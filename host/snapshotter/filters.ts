/**
 * The part of containerd's filter syntax (`containerd/filters`) that snapshot `List` requests
 * use: selectors joined by `,` (all must match), each `fieldpath [op value]` with op `==`, `!=`
 * or `~=` (regular expression), field path segments separated by `.` and optionally quoted
 * (`labels."containerd.io/snapshot.ref"`), values quoted (`"…"` with Go escapes, `/…/` for
 * regular expressions) or bare up to the next `,`. A selector without an operator tests that the
 * field is present and not empty. Several filters in one request are alternatives (any matches).
 *
 * containerd 1.6 sends, after a proxy snapshotter answers ALREADY_EXISTS for a layer,
 * `labels."containerd.io/snapshot.ref"==sha256:…,parent=="<backend parent>"`.
 *
 * @module
 */
import { SnapshotError } from "./errors.ts";

type Op = "==" | "!=" | "~=";

/** One parsed selector. */
export interface Selector {
  path: string[];
  op?: Op;
  value?: string;
  regexp?: RegExp;
}

/** A parsed filter: every selector must match. */
export type Filter = Selector[];

/** Looks up a field path on the item; undefined when the item has no such field. */
export type FieldAdaptor = (path: string[]) => string | undefined;

const bad = (filter: string, why: string): never => {
  throw new SnapshotError(
    "invalid_argument",
    `Cannot parse filter ${JSON.stringify(filter)}: ${why}`,
  );
};

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  peek(): string | undefined {
    return this.text[this.pos];
  }
  done(): boolean {
    return this.pos >= this.text.length;
  }
  skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  /** Reads a quoted string starting at the current quote character. */
  quoted(): string {
    const quote = this.text[this.pos++]!;
    let out = "";
    while (!this.done()) {
      const c = this.text[this.pos++]!;
      if (c === quote) return out;
      if (c === "\\" && quote === '"') {
        const e = this.text[this.pos++];
        const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"' };
        if (e === undefined || map[e] === undefined) bad(this.text, `bad escape at ${this.pos}`);
        out += map[e!];
      } else if (c === "\\" && quote === "/" && this.peek() === "/") {
        out += "/";
        this.pos++;
      } else out += c;
    }
    return bad(this.text, "unterminated quoted string");
  }
  identifier(): string {
    const start = this.pos;
    while (!this.done() && /[A-Za-z0-9_]/.test(this.peek()!)) this.pos++;
    if (start === this.pos) bad(this.text, `expected a field name at ${start}`);
    return this.text.slice(start, this.pos);
  }
}

function parseSelector(s: Scanner): Selector {
  s.skipSpaces();
  const path: string[] = [];
  for (;;) {
    path.push(s.peek() === '"' ? s.quoted() : s.identifier());
    if (s.peek() !== ".") break;
    s.pos++;
  }
  s.skipSpaces();
  if (s.done() || s.peek() === ",") return { path };
  const op = s.text.slice(s.pos, s.pos + 2);
  if (op !== "==" && op !== "!=" && op !== "~=") {
    return bad(s.text, `expected ==, != or ~= at ${s.pos}`);
  }
  s.pos += 2;
  s.skipSpaces();
  let value: string;
  if (s.peek() === '"' || s.peek() === "/") value = s.quoted();
  else {
    const end = s.text.indexOf(",", s.pos);
    value = s.text.slice(s.pos, end < 0 ? undefined : end).trim();
    s.pos = end < 0 ? s.text.length : end;
    if (value === "") bad(s.text, "missing value after operator");
  }
  s.skipSpaces();
  if (op !== "~=") return { path, op, value };
  try {
    return { path, op, value, regexp: new RegExp(value) };
  } catch (err) {
    return bad(s.text, `bad regular expression: ${(err as Error).message}`);
  }
}

/** Parses one filter string; throws `SnapshotError("invalid_argument")` naming the filter. */
export function parseFilter(text: string): Filter {
  const s = new Scanner(text);
  const out: Filter = [];
  s.skipSpaces();
  if (s.done()) return bad(text, "empty filter");
  for (;;) {
    out.push(parseSelector(s));
    if (s.done()) return out;
    if (s.peek() !== ",") return bad(text, `unexpected ${JSON.stringify(s.peek())} at ${s.pos}`);
    s.pos++;
  }
}

/** True when every selector of the filter matches the item. */
export function matchFilter(filter: Filter, field: FieldAdaptor): boolean {
  return filter.every((sel) => {
    const v = field(sel.path);
    switch (sel.op) {
      case undefined:
        return v !== undefined && v !== "";
      case "==":
        return v === sel.value;
      case "!=":
        return v !== sel.value;
      case "~=":
        return v !== undefined && sel.regexp!.test(v);
    }
  });
}

/** Parses all filters once and returns a predicate: no filters match everything, else any. */
export function compileFilters(filters: readonly string[]): (field: FieldAdaptor) => boolean {
  const parsed = filters.map(parseFilter);
  if (parsed.length === 0) return () => true;
  return (field) => parsed.some((f) => matchFilter(f, field));
}
