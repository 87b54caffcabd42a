/** Syntax tree of Rego modules and queries, as produced by the parser and annotated by the
 * compiler (variable resolution, literal scheduling, call targets). */

import type { Value } from "./value.ts";

/** Source position. */
export interface Loc {
  file: string;
  line: number;
  col: number;
}

/** Where a call goes, filled in by the compiler. */
export type CallTarget =
  | { kind: "builtin"; name: string }
  | { kind: "user"; path: string }
  | { kind: "dynamic" };

/** Terms and operator expressions. */
export type Term =
  | { t: "scalar"; v: Value; loc: Loc }
  /** `global` marks the roots `data` / `input` (after resolution). */
  | { t: "var"; name: string; loc: Loc; global?: boolean }
  | { t: "ref"; head: Term; path: Term[]; loc: Loc }
  | { t: "array"; items: Term[]; loc: Loc }
  | { t: "object"; entries: [Term, Term][]; loc: Loc }
  | { t: "set"; items: Term[]; loc: Loc }
  | { t: "acompr"; head: Term; body: Query; loc: Loc }
  | { t: "scompr"; head: Term; body: Query; loc: Loc }
  | { t: "ocompr"; key: Term; value: Term; body: Query; loc: Loc }
  | {
    t: "call";
    /** Function name as written, dotted (`count`, `lib.f`, `data.x.f`). */
    name: string;
    args: Term[];
    loc: Loc;
    target?: CallTarget;
    /** Old-style call with one extra argument that receives the result. */
    outputArg?: boolean;
  }
  | { t: "binop"; op: BinOp; l: Term; r: Term; loc: Loc }
  | { t: "in"; key: Term | undefined; value: Term; coll: Term; loc: Loc };

/** Binary operators, including unification and assignment. */
export type BinOp =
  | "="
  | ":="
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "|"
  | "&";

/** `with target as value` modifier. */
export interface With {
  target: Term;
  value: Term;
}

/** One body statement. `text` is the source text, for explanations. */
export type Literal =
  | { k: "expr"; e: Term; neg: boolean; withs: With[]; loc: Loc; text: string }
  | { k: "some"; vars: string[]; loc: Loc; text: string }
  | {
    k: "somein";
    key: Term | undefined;
    value: Term;
    coll: Term;
    withs: With[];
    loc: Loc;
    text: string;
  }
  | {
    k: "every";
    key: Term | undefined;
    value: Term;
    coll: Term;
    body: Query;
    withs: With[];
    loc: Loc;
    text: string;
  };

/** A conjunction of literals. */
export type Query = Literal[];

/** A body with the value it gives (`else` chains are lists of these). */
export interface RuleBody {
  value: Term | undefined;
  body: Query;
  loc: Loc;
}

/** A rule as written. */
export interface Rule {
  /** Head reference: first element is the name (a string scalar), then path segments. */
  ref: Term[];
  args: Term[] | undefined;
  /** `contains` member (set rules). */
  member: Term | undefined;
  /** `=`/`:=` value (undefined: `true`, or set membership in v0). */
  value: Term | undefined;
  assign: boolean;
  isDefault: boolean;
  /** Main body then else clauses. The first body is empty for rules without a body. */
  bodies: RuleBody[];
  /** True when written `if` (or a v1 module). */
  hasIf: boolean;
  /** True when the rule has an explicit body (braces or `if`). */
  hasBody: boolean;
  loc: Loc;
}

/** `import data.x.y as z`. */
export interface Import {
  path: string[];
  alias: string | undefined;
  loc: Loc;
}

/** A parsed module. */
export interface Module {
  file: string;
  pkg: string[];
  imports: Import[];
  rules: Rule[];
  /** Module uses v1 rules (`import rego.v1`, or v1 mode). */
  v1: boolean;
}
