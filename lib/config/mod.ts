/**
 * Configuration loading: TOML (npm:smol-toml), JSON or YAML chosen by file extension, as upstream's
 * `config` crate does. Errors name the file and, for invalid values, the key.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { CodedError } from "../errors.ts";

export class ConfigError extends CodedError<"read" | "parse" | "invalid"> {}

/**
 * Parses config text by format. The YAML parser is loaded only for YAML: every component reads
 * its config at start-up, and loading it costs about 28 ms per process (the shim starts three
 * per pod).
 */
export async function parseConfigText(
  text: string,
  format: "toml" | "json" | "yaml",
  file: string,
): Promise<unknown> {
  try {
    if (format === "json") return JSON.parse(text);
    if (format === "yaml") return (await import("yaml")).parse(text);
    return parseToml(text);
  } catch (err) {
    throw new ConfigError("parse", `Cannot parse config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Format by extension: `.json`, `.yaml`/`.yml`, everything else TOML. */
export function configFormat(path: string): "toml" | "json" | "yaml" {
  if (/\.json$/i.test(path)) return "json";
  if (/\.ya?ml$/i.test(path)) return "yaml";
  return "toml";
}

/** Reads and parses a config file. */
export async function loadConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError("read", `Cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return await parseConfigText(text, configFormat(path), path);
}

/**
 * Runs a section parser and rewrites any `TypeError` it throws into a `ConfigError` that names the
 * file, so field readers can stay simple.
 */
export function inConfig<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError("invalid", `Invalid config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
