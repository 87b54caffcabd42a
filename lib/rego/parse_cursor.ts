/** Token cursor shared by the Rego parsers: position, lookahead, matching and error
 * reporting over the lexer's tokens; plus the token-level helpers they share. */

import type { Loc } from "./ast.ts";
import { isStackOverflow, RegoError } from "./errors.ts";
import { type Token, tokenize } from "./lexer.ts";

/** Errors a speculative parse must not swallow: nesting limits and stack overflows. */
export function isFatal(e: unknown): boolean {
  return isStackOverflow(e) || (e instanceof RegoError && e.code === "limit");
}

/** Position in the token stream of one source file (the first parser layer; see
 * parse_expr.ts for the layering). */
export class TokenCursor {
  protected toks: Token[];
  protected pos = 0;
  protected file: string;
  protected src: string;

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
}

/** Parses a number literal (JS double; integers beyond 2^53 lose precision). */
export function parseNumber(text: string): number {
  return Number(text);
}
