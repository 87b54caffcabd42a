/**
 * Queries and literals (`some`, `some … in`, `every`, `not`, `with`, membership with a key):
 * the top layer of the expression parser, which the module-level parser (`parser.ts`) and the
 * query parser extend. The grammar is one recursive descent over a shared token cursor, split
 * into a chain of layers, each extending the one before:
 *
 * `TokenCursor` (parse_cursor.ts) → `OperatorParser` (parse_operators.ts: precedence levels) →
 * `TermParser` (parse_term.ts: terms, collections, comprehensions) → `ExprParser` (here).
 *
 * A layer calls methods of a later layer through abstract declarations, so no module imports a
 * later one and there is no import cycle.
 */

import type { Literal, Query, Term, With } from "./ast.ts";
import { isFatal } from "./parse_cursor.ts";
import { TermParser } from "./parse_term.ts";

/** Expression parser: queries, literals and everything below them. */
export class ExprParser extends TermParser {
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
}
