/**
 * Structured logging. Libraries never call `console`; they take a {@linkcode Logger}.
 * Output is JSON lines when asked (or when stderr is not a TTY and `COCO_LOG_FORMAT=json`),
 * readable text otherwise.
 *
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** A small structured logger. `child` adds fields to every record. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: "json" | "text";
  /** Where records go; defaults to stderr. */
  write?: (line: string) => void;
  fields?: LogFields;
}

/** Parses a level name (e.g. from `RUST_LOG`-style config); unknown names give `info`. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const v = (value ?? "").toLowerCase();
  if (v === "trace" || v === "debug") return "debug";
  if (v === "warn" || v === "warning") return "warn";
  if (v === "error") return "error";
  return "info";
}

const encoder = new TextEncoder();

function defaultWrite(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function errorToJson(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const out: Record<string, unknown> = { name: value.name, message: value.message };
  const code = (value as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (value.cause !== undefined) out.cause = errorToJson(value.cause);
  return out;
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(errorToJson(value));
}

/** Creates a logger writing to stderr (or `options.write`). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? parseLogLevel(Deno.env.get("COCO_LOG"));
  const min = ORDER[level];
  const format = options.format ??
    (Deno.env.get("COCO_LOG_FORMAT") === "json" ? "json" : "text");
  const write = options.write ?? defaultWrite;
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (ORDER[level] < min) return;
    const all = { ...base, ...fields };
    if (format === "json") {
      const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
      for (const [k, v] of Object.entries(all)) rec[k] = errorToJson(v);
      write(JSON.stringify(rec));
    } else {
      const extra = Object.entries(all).map(([k, v]) => `${k}=${textValue(v)}`).join(" ");
      write(
        `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${
          extra ? " " + extra : ""
        }`,
      );
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    // The level and format resolved here are passed down: a child (one per request in the KBS)
    // does not read the environment again.
    child: (fields) =>
      createLogger({
        ...options,
        level,
        format,
        write,
        fields: { ...base, ...fields },
      }),
  };
}

/** A logger that drops everything (tests). */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};

/** A logger that keeps records in memory, for tests that assert on logs. */
export function memoryLogger(): Logger & {
  records: Array<{ level: LogLevel; msg: string } & LogFields>;
} {
  const records: Array<{ level: LogLevel; msg: string } & LogFields> = [];
  const make = (base: LogFields): Logger => {
    const push = (level: LogLevel) => (msg: string, fields: LogFields = {}) =>
      void records.push({ ...base, ...fields, level, msg });
    return {
      debug: push("debug"),
      info: push("info"),
      warn: push("warn"),
      error: push("error"),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return Object.assign(make({}), { records });
}
