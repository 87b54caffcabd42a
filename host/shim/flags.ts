/**
 * The shim's command line as containerd passes it: Go `flag` style (`-namespace ns`,
 * `-namespace=ns`, `--namespace ns`; `-debug` is a boolean), flags first, then an optional
 * action word (`start` | `delete`); no action = serving mode (spec/runtime.md §5.2, §5.3).
 */
import { shimError } from "./errors.ts";

/** What the shim was asked to do. */
export type ShimAction = "start" | "delete" | "serve" | "version";

/** Parsed flags. */
export interface ShimFlags {
  namespace: string;
  /** containerd's gRPC address (`-address`). */
  address: string;
  publishBinary: string;
  id: string;
  /** `-bundle` (delete); defaults to the working directory. */
  bundle: string;
  debug: boolean;
  action: ShimAction;
}

const STRING_FLAGS: Record<string, keyof ShimFlags> = {
  namespace: "namespace",
  address: "address",
  "publish-binary": "publishBinary",
  id: "id",
  bundle: "bundle",
};

/** Parses containerd's argument vector (without the program name). */
export function parseShimArgs(args: readonly string[]): ShimFlags {
  const out: ShimFlags = {
    namespace: "",
    address: "",
    publishBinary: "",
    id: "",
    bundle: "",
    debug: false,
    action: "serve",
  };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      if (arg === "--") i++;
      break;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === "debug") {
      const v = eq < 0 ? "true" : body.slice(eq + 1);
      if (!["true", "false", "1", "0"].includes(v)) {
        throw shimError(
          "bad-flags",
          `Invalid value "${v}" for flag -debug: expected true or false`,
        );
      }
      out.debug = v === "true" || v === "1";
      continue;
    }
    if (name === "v" || name === "version") {
      out.action = "version";
      return out;
    }
    const key = STRING_FLAGS[name];
    if (!key) throw shimError("bad-flags", `Unknown flag -${name}`);
    let value: string | undefined;
    if (eq >= 0) value = body.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw shimError("bad-flags", `Flag -${name} needs a value`);
    (out as unknown as Record<string, string>)[key] = value;
  }
  const rest = args.slice(i);
  if (rest.length > 1) {
    throw shimError("bad-flags", `Unexpected arguments after "${rest[0]}": ${rest.slice(1)}`);
  }
  if (rest.length === 1) {
    if (rest[0] !== "start" && rest[0] !== "delete") {
      throw shimError("bad-flags", `Unknown action "${rest[0]}": expected start or delete`);
    }
    out.action = rest[0];
  }
  if (out.action !== "version") {
    if (!out.namespace) throw shimError("bad-flags", "Flag -namespace is required");
    if (!out.id) throw shimError("bad-flags", "Flag -id is required");
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(out.id)) {
      throw shimError("bad-flags", `Flag -id "${out.id}" is not a valid task id`);
    }
  }
  return out;
}
