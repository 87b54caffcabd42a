/** Tokenizer for Rego source text. */

import { RegoError } from "./errors.ts";

/** Token kinds. `sym` covers operators and punctuation. */
export type TokenKind = "ident" | "string" | "rawstring" | "number" | "sym" | "eof";

/** One token with its position and whether whitespace / a newline came before it. */
export interface Token {
  kind: TokenKind;
  text: string;
  /** Decoded value of string tokens. */
  value: string;
  line: number;
  col: number;
  start: number;
  ws: boolean;
  nl: boolean;
}

const SYMS3 = new Set<string>();
const SYMS2 = new Set([":=", "==", "!=", "<=", ">="]);
const SYMS1 = new Set("{}[]().,;:=<>+-*/%|&".split(""));

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Splits `src` into tokens. Throws RegoError("parse") naming `file:line:col`. */
export function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0, line = 1, lineStart = 0;
  let ws = false, nl = false;
  const fail = (msg: string, at: number): never => {
    throw new RegoError("parse", `${file}:${line}:${at - lineStart + 1}: ${msg}`);
  };
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      ws = nl = true;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      ws = true;
      continue;
    }
    if (c === 35) { // # comment
      while (i < src.length && src.charCodeAt(i) !== 10) i++;
      ws = true;
      continue;
    }
    const start = i, col = i - lineStart + 1, tokLine = line;
    let kind: TokenKind;
    let value = "";
    if (isIdentStart(c)) {
      while (i < src.length && isIdentPart(src.charCodeAt(i))) i++;
      kind = "ident";
    } else if (isDigit(c)) {
      while (i < src.length && isDigit(src.charCodeAt(i))) i++;
      if (src[i] === "." && isDigit(src.charCodeAt(i + 1))) {
        i++;
        while (i < src.length && isDigit(src.charCodeAt(i))) i++;
      }
      if (src[i] === "e" || src[i] === "E") {
        let j = i + 1;
        if (src[j] === "+" || src[j] === "-") j++;
        if (isDigit(src.charCodeAt(j))) {
          i = j;
          while (i < src.length && isDigit(src.charCodeAt(i))) i++;
        }
      }
      if (i < src.length && isIdentStart(src.charCodeAt(i))) fail("invalid number literal", i);
      kind = "number";
    } else if (c === 34) { // "
      i++;
      let s = "";
      for (;;) {
        if (i >= src.length || src[i] === "\n") fail("unterminated string", start);
        const ch = src[i]!;
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === "\\") {
          const e = src[i + 1];
          i += 2;
          switch (e) {
            case '"':
            case "\\":
            case "/":
              s += e;
              break;
            case "b":
              s += "\b";
              break;
            case "f":
              s += "\f";
              break;
            case "n":
              s += "\n";
              break;
            case "r":
              s += "\r";
              break;
            case "t":
              s += "\t";
              break;
            case "u": {
              const hex = src.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid unicode escape", i);
              s += String.fromCharCode(parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              fail(`invalid escape sequence \\${e ?? ""}`, i - 2);
          }
          continue;
        }
        s += ch;
        i++;
      }
      value = s;
      kind = "string";
    } else if (c === 96) { // `
      const end = src.indexOf("`", i + 1);
      if (end < 0) fail("unterminated raw string", start);
      value = src.slice(i + 1, end);
      for (let j = i; j < end; j++) {
        if (src.charCodeAt(j) === 10) {
          line++;
          lineStart = j + 1;
        }
      }
      i = end + 1;
      kind = "rawstring";
    } else {
      const two = src.slice(i, i + 2);
      if (SYMS3.has(src.slice(i, i + 3))) i += 3;
      else if (SYMS2.has(two)) i += 2;
      else if (SYMS1.has(src[i]!)) i += 1;
      else fail(`unexpected character '${src[i]}'`, i);
      kind = "sym";
    }
    const text = src.slice(start, i);
    out.push({
      kind,
      text,
      value: kind === "string" || kind === "rawstring" ? value : text,
      line: tokLine,
      col,
      start,
      ws,
      nl,
    });
    ws = nl = false;
  }
  out.push({
    kind: "eof",
    text: "",
    value: "",
    line,
    col: i - lineStart + 1,
    start: i,
    ws: true,
    nl: true,
  });
  return out;
}
