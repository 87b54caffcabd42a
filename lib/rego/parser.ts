/** Module parser: package, imports and rules (v0 and v1 syntax). */

import type { Import, Literal, Module, Query, Rule, RuleBody, Term } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { isFatal } from "./parse_cursor.ts";
import { ExprParser } from "./parse_expr.ts";

/** Parser options. In v0 mode a module is v1 only if it imports `rego.v1`. */
export interface ParseOptions {
  v0: boolean;
}

const KEYWORDS = new Set([
  "as",
  "default",
  "else",
  "every",
  "false",
  "if",
  "import",
  "in",
  "not",
  "null",
  "package",
  "some",
  "true",
  "with",
]);

class ModuleParser extends ExprParser {
  v1 = false;

  parseModule(opts: ParseOptions): Module {
    if (!this.is("package")) this.fail("expecting `package`");
    this.next();
    const pkg = this.parseDottedPath();
    const imports = this.parseImports();
    this.v1 = !opts.v0 || imports.some((i) => i.path[0] === "rego");
    const rules: Rule[] = [];
    while (this.tok.kind !== "eof") {
      if (this.is("import")) this.fail("imports must come before rules");
      if (this.is("package")) this.fail("unexpected second `package`");
      rules.push(this.parseRule());
    }
    return { file: this.file, pkg, imports, rules, v1: this.v1 };
  }

  private parseDottedPath(): string[] {
    const id = this.tok;
    if (id.kind !== "ident") this.fail("expecting identifier");
    this.next();
    const parts = [id.text];
    for (;;) {
      if (this.is(".") && !this.tok.ws) {
        this.next();
        const p = this.tok;
        if (p.kind !== "ident") this.fail("expecting identifier after `.`");
        if (p.ws) this.fail("invalid whitespace between . and identifier");
        parts.push(this.next().text);
      } else if (this.is("[") && !this.tok.ws) {
        this.next();
        const s = this.tok;
        if (s.kind !== "string" && s.kind !== "rawstring") this.fail("expecting string in path");
        parts.push(this.next().value);
        this.expect("]");
      } else {
        return parts;
      }
    }
  }

  private parseImports(): Import[] {
    const imports: Import[] = [];
    let sawFuture = false, sawRego = false;
    while (this.is("import")) {
      const t = this.next();
      const loc = this.loc(t);
      const path = this.parseDottedPath();
      let alias: string | undefined;
      if (this.accept("as")) {
        const a = this.tok;
        if (a.kind !== "ident") this.fail("expecting alias name");
        alias = this.next().text;
      }
      const root = path[0]!;
      if (!["data", "input", "future", "rego"].includes(root)) {
        this.failAt(loc, "import path must begin with one of: {data, future, input, rego}");
      }
      if (root === "future") {
        if (path[1] !== "keywords" || path.length > 3) this.failAt(loc, "invalid future import");
        if (sawRego) this.failAt(loc, "this import shadows previous import of `rego.v1`");
        sawFuture = true;
        continue;
      }
      if (root === "rego") {
        if (path.length !== 2 || path[1] !== "v1") this.failAt(loc, "invalid import, only rego.v1");
        if (sawRego || sawFuture) this.failAt(loc, "this import shadows previous import");
        sawRego = true;
      }
      imports.push({ path, alias, loc });
    }
    return imports;
  }

  private failAt(loc: { line: number; col: number }, msg: string): never {
    throw new RegoError("parse", `${this.file}:${loc.line}:${loc.col}: ${msg}`);
  }

  private parseRule(): Rule {
    const loc = this.loc();
    const isDefault = this.accept("default");
    const nameTok = this.tok;
    if (nameTok.kind === "ident" && KEYWORDS.has(nameTok.text)) {
      this.fail(`unexpected keyword \`${nameTok.text}\``);
    }
    if (nameTok.kind !== "ident") this.fail("expecting rule name");
    this.next();
    const ref: Term[] = [{ t: "scalar", v: nameTok.text, loc: this.loc(nameTok) }];
    for (;;) {
      if (this.is(".") && !this.tok.ws) {
        this.next();
        const p = this.tok;
        if (p.kind !== "ident") this.fail("expecting identifier after `.`");
        if (p.ws) this.fail("invalid whitespace between . and identifier");
        this.next();
        ref.push({ t: "scalar", v: p.text, loc: this.loc(p) });
      } else if (this.is("[") && !this.tok.ws) {
        this.next();
        ref.push(this.parseExpr());
        this.expect("]");
      } else break;
    }
    let args: Term[] | undefined;
    if (this.is("(") && !this.tok.nl) {
      this.next();
      args = [];
      while (!this.is(")")) {
        args.push(this.parseExpr());
        if (!this.accept(",")) break;
      }
      this.expect(")");
    }
    let member: Term | undefined;
    if (this.is("contains") && !isDefault) {
      this.next();
      member = this.parseIn();
    }
    let value: Term | undefined;
    let assign = false;
    if (this.is("=") || this.is(":=")) {
      assign = this.next().text === ":=";
      this.inDefault = isDefault;
      try {
        value = isDefault ? this.parseRel() : this.parseIn();
      } finally {
        this.inDefault = false;
      }
    }
    const first = this.parseBody(loc, value);
    const bodies: RuleBody[] = [first.body];
    while (this.is("else")) {
      const et = this.next();
      let ev: Term | undefined;
      if (this.is("=") || this.is(":=")) {
        this.next();
        ev = this.parseIn();
      }
      const b = this.parseBody(this.loc(et), ev);
      if (b.has && !b.hasIf && this.v1) this.fail("`if` keyword is required before rule body", et);
      bodies.push(b.body);
    }
    if (this.v1 && !isDefault) {
      if (first.has && !first.hasIf) this.failAt(loc, "`if` keyword is required before rule body");
      if (!first.has && value === undefined && member === undefined) {
        if (ref.length === 1) this.failAt(loc, "rule must have a body");
        if (ref.length === 2) {
          this.failAt(loc, "`contains` keyword is required for partial set rules");
        }
        this.failAt(loc, "rule must have a body or assignment");
      }
    }
    if (!this.v1 && !isDefault && !first.has && value === undefined && member === undefined) {
      if (ref.length === 1 && !args) this.failAt(loc, "rule must have a body");
    }
    return {
      ref,
      args,
      member,
      value,
      assign,
      isDefault,
      bodies,
      hasIf: first.hasIf,
      hasBody: first.has,
      loc,
    };
  }

  private parseBody(
    loc: RuleBody["loc"],
    value: Term | undefined,
  ): { body: RuleBody; has: boolean; hasIf: boolean } {
    const hasIf = this.accept("if");
    let body: Query = [];
    let has = false;
    const compr = this.is("{") ? this.tryComprehensionBody() : undefined;
    if (compr) {
      body = [compr];
      has = true;
    } else if (this.is("{")) {
      this.next();
      body = this.parseQuery(["}"]);
      this.expect("}");
      has = true;
    } else if (hasIf) {
      body = [this.parseLiteral()];
      has = true;
    }
    return { body: { value, body, loc }, has, hasIf };
  }

  /** A body written as a set or object comprehension (`x if { 1 | 1 }`) is that one
   * expression, as in regorus; anything else rewinds and is parsed as a query. */
  private tryComprehensionBody(): Literal | undefined {
    const start = this.tok;
    const save = this.pos, saveOr = this.noOr;
    try {
      const e = this.parsePrimary();
      const ends = this.tok.nl || this.tok.kind === "eof" || this.is("else");
      if ((e.t === "scompr" || e.t === "ocompr") && ends) {
        const text = this.src.slice(start.start, this.prevEnd());
        return { k: "expr", e, neg: false, withs: [], loc: this.loc(start), text };
      }
    } catch (e) {
      if (isFatal(e)) throw e; // not a syntax question: give up
      // not a comprehension
    }
    this.pos = save;
    this.noOr = saveOr;
    return undefined;
  }
}

/** Parses one module. Throws RegoError("parse") naming `file:line:col`. */
export function parseModule(src: string, file: string, opts: ParseOptions): Module {
  return new ModuleParser(src, file).parseModule(opts);
}

/** Parses a query (literals separated by `;` or newlines). */
export function parseQuery(src: string, file = "<query>"): Query {
  const p = new QueryParser(src, file);
  return p.parseAll();
}

class QueryParser extends ExprParser {
  parseAll(): Query {
    const q = this.parseQuery([]);
    if (this.tok.kind !== "eof") this.fail("expecting EOF");
    if (q.length === 0) this.fail("empty query");
    return q;
  }
}
