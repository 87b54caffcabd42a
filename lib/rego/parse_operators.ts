/** Operator expressions by precedence, lowest first, as OPA: `=`/`:=`, `in`, comparisons, `|`,
 * `&`, `+ -`, `* / %`, unary minus. Operands are terms (parse_term.ts). */

import type { BinOp, Term } from "./ast.ts";
import { parseNumber, TokenCursor } from "./parse_cursor.ts";

/** Comparison operators. */
export const REL_OPS: ReadonlySet<string> = new Set(["==", "!=", "<", "<=", ">", ">="]);

/** Operator layer of the expression parser (see parse_expr.ts). */
export abstract class OperatorParser extends TokenCursor {
  /** A primary term with reference / call suffixes (parse_term.ts). */
  abstract parseTerm(): Term;
  /** Reference / call suffixes after `term` (parse_term.ts). */
  protected abstract parsePostfix(term: Term): Term;

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
}
