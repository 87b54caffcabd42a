/** Terms: scalars, variables, references and calls (postfix `.x`, `[i]`, `(args)`), arrays,
 * sets, objects and their comprehensions. Comprehension bodies are queries (parse_expr.ts). */

import type { BinOp, Loc, Query, Term } from "./ast.ts";
import { RegoError } from "./errors.ts";
import type { Token } from "./lexer.ts";
import { isFatal, parseNumber } from "./parse_cursor.ts";
import { OperatorParser, REL_OPS } from "./parse_operators.ts";

/** Terms written in parentheses (an operator expression in parentheses may head a
 * comprehension; unparenthesized, `a & b | c` is a union). */
const PAREN = new WeakSet<Term>();

function isOpExpr(t: Term): boolean {
  return (t.t === "binop" || t.t === "in") && !PAREN.has(t);
}

/** Deepest nesting of terms the parser accepts. */
const MAX_NESTING = 300;

/** Term layer of the expression parser (see parse_expr.ts). */
export abstract class TermParser extends OperatorParser {
  /** Depth guard against pathological nesting. */
  #depth = 0;

  /** Parses literals until one of `closers` (or EOF) (parse_expr.ts). */
  abstract parseQuery(closers: string[]): Query;

  /** A primary term with reference / call suffixes. */
  parseTerm(): Term {
    if (++this.#depth > MAX_NESTING) {
      const t = this.tok;
      throw new RegoError(
        "limit",
        `${this.file}:${t.line}:${t.col}: expression nested too deeply (more than ${MAX_NESTING} levels)`,
      );
    }
    try {
      return this.parsePostfix(this.parsePrimary());
    } finally {
      this.#depth--;
    }
  }

  protected parsePostfix(term: Term): Term {
    let t = term;
    for (;;) {
      const tk = this.tok;
      if (tk.text === "." && tk.kind === "sym" && !tk.ws) {
        this.next();
        const id = this.tok;
        if (id.kind !== "ident") this.fail("expecting identifier after `.`");
        if (id.ws) this.fail("invalid whitespace between . and identifier");
        this.next();
        t = appendPath(t, { t: "scalar", v: id.text, loc: this.loc(id) });
      } else if (tk.text === "[" && tk.kind === "sym" && !tk.ws) {
        this.next();
        const saveOr = this.noOr;
        this.noOr = false;
        const idx = this.parseExpr();
        this.noOr = saveOr;
        this.expect("]");
        t = appendPath(t, idx);
      } else if (tk.text === "(" && tk.kind === "sym" && !tk.nl) {
        const name = callName(t);
        if (name === undefined) return t;
        this.next();
        const args: Term[] = [];
        const saveOr = this.noOr;
        this.noOr = false;
        while (!this.is(")")) {
          args.push(this.parseExpr());
          if (!this.accept(",")) break;
        }
        this.noOr = saveOr;
        this.expect(")");
        t = { t: "call", name, args, loc: t.loc };
      } else {
        return t;
      }
    }
  }

  protected parsePrimary(): Term {
    const tk = this.tok;
    const loc = this.loc(tk);
    switch (tk.kind) {
      case "number":
        this.next();
        return { t: "scalar", v: parseNumber(tk.text), loc };
      case "string":
      case "rawstring":
        this.next();
        return { t: "scalar", v: tk.value, loc };
      case "ident":
        return this.parseIdent(tk, loc);
      case "sym":
        if (tk.text === "[") return this.parseArray(loc);
        if (tk.text === "{") return this.parseBrace(loc);
        if (tk.text === "(") {
          this.next();
          const saveOr = this.noOr;
          this.noOr = false;
          const e = this.parseIn();
          this.noOr = saveOr;
          this.expect(")");
          PAREN.add(e);
          return e;
        }
    }
    return this.fail("unexpected token");
  }

  private parseIdent(tk: Token, loc: Loc): Term {
    switch (tk.text) {
      case "true":
      case "false":
        this.next();
        return { t: "scalar", v: tk.text === "true", loc };
      case "null":
        this.next();
        return { t: "scalar", v: null, loc };
      case "set":
        if (this.peek().text === "(" && this.peek(2).text === ")") {
          this.pos += 3;
          return { t: "set", items: [], loc };
        }
        break;
      case "some":
      case "not":
      case "every":
      case "with":
      case "as":
      case "else":
      case "import":
      case "package":
      case "default":
      case "if":
      case "in":
        this.fail(`unexpected keyword \`${tk.text}\``);
    }
    this.next();
    return { t: "var", name: tk.text, loc };
  }

  private parseArray(loc: Loc): Term {
    this.next();
    const items: Term[] = [];
    if (this.accept("]")) return { t: "array", items, loc };
    const saveOr = this.noOr;
    this.noOr = true;
    let first = this.parseExpr();
    this.noOr = false;
    if (this.is("|")) {
      const body = isOpExpr(first) ? undefined : this.tryComprBody("]");
      if (body) {
        this.noOr = saveOr;
        return { t: "acompr", head: first, body, loc };
      }
      first = this.continueOr(first);
    }
    items.push(first);
    while (this.accept(",")) {
      if (this.is("]")) break;
      items.push(this.parseExpr());
    }
    this.noOr = saveOr;
    this.expect("]");
    return { t: "array", items, loc };
  }

  /** After `head |`: parses a comprehension body if it ends at `closer`, else rewinds. */
  private tryComprBody(closer: string): Query | undefined {
    const save = this.pos;
    this.next();
    try {
      const body = this.parseQuery([closer]);
      if (this.is(closer)) {
        this.next();
        return body;
      }
    } catch (e) {
      if (isFatal(e)) throw e; // not a syntax question: give up
      // not a comprehension
    }
    this.pos = save;
    return undefined;
  }

  /** Continues `first | …` as a set-union expression (then comparisons / `in`). */
  private continueOr(first: Term): Term {
    let l = first;
    while (this.accept("|")) l = { t: "binop", op: "|", l, r: this.parseAnd(), loc: l.loc };
    while (this.tok.kind === "sym" && REL_OPS.has(this.tok.text)) {
      const op = this.next().text as BinOp;
      l = { t: "binop", op, l, r: this.parseOr(), loc: l.loc };
    }
    while (this.accept("in")) {
      l = { t: "in", key: undefined, value: l, coll: this.parseRel(), loc: l.loc };
    }
    return l;
  }

  private parseBrace(loc: Loc): Term {
    this.next();
    if (this.accept("}")) return { t: "object", entries: [], loc };
    const saveOr = this.noOr;
    this.noOr = true;
    const first = this.parseExpr();
    if (this.accept(":")) {
      const v = this.parseExpr();
      this.noOr = false;
      if (this.is("|")) {
        const body = this.tryComprBody("}");
        if (body) {
          this.noOr = saveOr;
          return { t: "ocompr", key: first, value: v, body, loc };
        }
        this.fail("invalid object comprehension");
      }
      const entries: [Term, Term][] = [[first, v]];
      while (this.accept(",")) {
        if (this.is("}")) break;
        const k = this.parseExpr();
        this.expect(":");
        entries.push([k, this.parseExpr()]);
      }
      this.noOr = saveOr;
      this.expect("}");
      return { t: "object", entries, loc };
    }
    this.noOr = false;
    let head = first;
    if (this.is("|")) {
      const body = isOpExpr(first) ? undefined : this.tryComprBody("}");
      if (body) {
        this.noOr = saveOr;
        return { t: "scompr", head: first, body, loc };
      }
      head = this.continueOr(first);
    }
    const items = [head];
    while (this.accept(",")) {
      if (this.is("}")) break;
      items.push(this.parseExpr());
    }
    this.noOr = saveOr;
    this.expect("}");
    return { t: "set", items, loc };
  }
}

function appendPath(t: Term, seg: Term): Term {
  if (t.t === "ref") return { t: "ref", head: t.head, path: [...t.path, seg], loc: t.loc };
  return { t: "ref", head: t, path: [seg], loc: t.loc };
}

/** Dotted name of a var or var.field.field reference, if callable. */
function callName(t: Term): string | undefined {
  if (t.t === "var") return t.name;
  if (t.t !== "ref" || t.head.t !== "var") return undefined;
  const parts = [t.head.name];
  for (const p of t.path) {
    if (p.t !== "scalar" || typeof p.v !== "string") return undefined;
    parts.push(p.v);
  }
  return parts.join(".");
}
