/**
 * Expression and query parsing (terms, operators, comprehensions, literals). The module-level
 * parser (`parser.ts`) extends this class. Operator precedence, lowest first, follows OPA:
 * `=`/`:=`, `in`, comparisons, `|`, `&`, `+ -`, `* / %`, unary minus.
 *
 * Slightly over 500 lines because the precedence levels, terms and comprehensions are one
 * recursive-descent grammar sharing the token cursor; `parser.ts` holds the module level.
 */

import type { BinOp, Literal, Loc, Query, Term, With } from "./ast.ts";
import { isStackOverflow, RegoError } from "./errors.ts";
import { type Token, tokenize } from "./lexer.ts";

const REL_OPS = new Set(["==", "!=", "<", "<=", ">", ">="]);

/** Terms written in parentheses (an operator expression in parentheses may head a
 * comprehension; unparenthesized, `a & b | c` is a union). */
const PAREN = new WeakSet<Term>();

function isOpExpr(t: Term): boolean {
  return (t.t === "binop" || t.t === "in") && !PAREN.has(t);
}

/** Shared token cursor and expression grammar. */
/** Deepest nesting of terms the parser accepts. */
const MAX_NESTING = 300;

/** Errors a speculative parse must not swallow: nesting limits and stack overflows. */
export function isFatal(e: unknown): boolean {
  return isStackOverflow(e) || (e instanceof RegoError && e.code === "limit");
}

export class ExprParser {
  protected toks: Token[];
  protected pos = 0;
  protected file: string;
  protected src: string;
  /** Depth guard against pathological nesting. */
  #depth = 0;

  constructor(src: string, file: string) {
    this.src = src;
    this.file = file;
    this.toks = tokenize(src, file);
  }

  protected get tok(): Token {
    return this.toks[this.pos]!;
  }
  protected peek(n = 1): Token {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)]!;
  }
  protected next(): Token {
    const t = this.tok;
    if (t.kind !== "eof") this.pos++;
    return t;
  }
  protected is(text: string): boolean {
    const t = this.tok;
    return (t.kind === "sym" || t.kind === "ident") && t.text === text;
  }
  protected accept(text: string): boolean {
    if (this.is(text)) {
      this.pos++;
      return true;
    }
    return false;
  }
  protected expect(text: string): Token {
    if (!this.is(text)) this.fail(`expecting \`${text}\``);
    return this.next();
  }
  protected loc(t: Token = this.tok): Loc {
    return { file: this.file, line: t.line, col: t.col };
  }
  protected fail(msg: string, t: Token = this.tok): never {
    const got = t.kind === "eof" ? "end of file" : `\`${t.text}\``;
    throw new RegoError("parse", `${this.file}:${t.line}:${t.col}: ${msg} (found ${got})`);
  }
  protected endOf(t: Token): number {
    return t.start + t.text.length;
  }
  protected prevEnd(): number {
    return this.pos > 0 ? this.endOf(this.toks[this.pos - 1]!) : 0;
  }

  /** Parses literals until one of `closers` (or EOF); separators are `;` or newlines. */
  parseQuery(closers: string[]): Query {
    const out: Query = [];
    for (;;) {
      while (this.accept(";"));
      if (this.tok.kind === "eof" || closers.some((c) => this.is(c))) break;
      if (out.length > 0 && !this.tok.nl && this.toks[this.pos - 1]?.text !== ";") {
        this.fail(closers.length === 0 ? "expecting EOF" : "unexpected token");
      }
      out.push(this.parseLiteral());
    }
    return out;
  }

  protected parseLiteral(): Literal {
    const start = this.tok;
    const loc = this.loc();
    const text = () => this.src.slice(start.start, this.prevEnd());
    if (this.is("some")) {
      this.next();
      const terms = [this.parseOr()];
      while (this.accept(",")) terms.push(this.parseOr());
      if (this.accept("in")) {
        if (terms.length > 2) this.fail("too many variables in `some ... in`");
        const coll = this.parseRel();
        const withs = this.parseWiths();
        const [a, b] = terms;
        return b
          ? { k: "somein", key: a, value: b, coll, withs, loc, text: text() }
          : { k: "somein", key: undefined, value: a!, coll, withs, loc, text: text() };
      }
      const vars: string[] = [];
      for (const t of terms) {
        if (t.t !== "var") this.fail("expecting variable in `some` declaration");
        vars.push(t.name);
      }
      return { k: "some", vars, loc, text: text() };
    }
    if (this.is("every") && this.peek().kind === "ident") {
      this.next();
      const a = this.parseTerm();
      let key: Term | undefined, value = a;
      if (this.accept(",")) {
        key = a;
        value = this.parseTerm();
      }
      this.expect("in");
      const coll = this.parseRel();
      this.expect("{");
      const body = this.parseQuery(["}"]);
      this.expect("}");
      const withs = this.parseWiths();
      return { k: "every", key, value, coll, body, withs, loc, text: text() };
    }
    let neg = false;
    if (this.is("not")) {
      this.next();
      neg = true;
    }
    let e = this.parseExpr();
    if (!neg && this.is(",") && this.peekMembership()) {
      this.next();
      const value = this.parseOr();
      this.expect("in");
      e = { t: "in", key: e, value, coll: this.parseRel(), loc };
    }
    const withs = this.parseWiths();
    return { k: "expr", e, neg, withs, loc, text: text() };
  }

  /** Looks ahead for `, term in` at the top level of a literal. */
  private peekMembership(): boolean {
    const save = this.pos;
    try {
      this.next();
      this.parseOr();
      return this.is("in");
    } catch (e) {
      if (isFatal(e)) throw e;
      return false;
    } finally {
      this.pos = save;
    }
  }

  protected parseWiths(): With[] {
    const withs: With[] = [];
    while (this.is("with")) {
      this.next();
      const target = this.parseTerm();
      this.expect("as");
      const value = this.parseIn();
      withs.push({ target, value });
    }
    return withs;
  }

  /** Full expression including `=` and `:=`. */
  parseExpr(): Term {
    const l = this.parseIn();
    if (this.is(":=") || this.is("=")) {
      const op = this.next().text as BinOp;
      const r = this.parseIn();
      return { t: "binop", op, l, r, loc: l.loc };
    }
    return l;
  }

  protected parseIn(): Term {
    let l = this.parseRel();
    while (this.is("in")) {
      this.next();
      const coll = this.parseRel();
      l = { t: "in", key: undefined, value: l, coll, loc: l.loc };
    }
    return l;
  }

  protected parseRel(): Term {
    let l = this.parseOr();
    while (this.tok.kind === "sym" && REL_OPS.has(this.tok.text)) {
      const op = this.next().text as BinOp;
      l = { t: "binop", op, l, r: this.parseOr(), loc: l.loc };
    }
    return l;
  }

  protected noOr = false;
  /** Parsing a `default` rule's value (changes one error message, as regorus). */
  protected inDefault = false;
  protected parseOr(): Term {
    let l = this.parseAnd();
    while (!this.noOr && this.is("|")) {
      this.next();
      l = { t: "binop", op: "|", l, r: this.parseAnd(), loc: l.loc };
    }
    return l;
  }

  protected parseAnd(): Term {
    let l = this.parseArith();
    while (this.is("&")) {
      this.next();
      l = { t: "binop", op: "&", l, r: this.parseArith(), loc: l.loc };
    }
    return l;
  }

  protected parseArith(): Term {
    let l = this.parseFactor();
    while (this.is("+") || this.is("-")) {
      const op = this.next().text as BinOp;
      l = { t: "binop", op, l, r: this.parseFactor(), loc: l.loc };
    }
    return l;
  }

  protected parseFactor(): Term {
    let l = this.parseUnary();
    while (this.is("*") || this.is("/") || this.is("%")) {
      const op = this.next().text as BinOp;
      l = { t: "binop", op, l, r: this.parseUnary(), loc: l.loc };
    }
    return l;
  }

  protected parseUnary(): Term {
    if (this.is("-")) {
      const t = this.next();
      const n = this.tok;
      if (n.kind !== "number") {
        this.fail(
          this.inDefault
            ? "invalid `unaryexpr` in default value"
            : "unary - can only be used with numeric literals",
          t,
        );
      }
      this.next();
      return this.parsePostfix({ t: "scalar", v: -parseNumber(n.text), loc: this.loc(t) });
    }
    return this.parseTerm();
  }

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

/** Parses a number literal (JS double; integers beyond 2^53 lose precision). */
export function parseNumber(text: string): number {
  return Number(text);
}
