/**
 * Change versions of the Redis backend (`StorageProvider.versions` in `types.ts`; README
 * "Caching"): the keys `kbs_cache_versions:<namespace>`, the Lua scripts (`EVAL`, atomic) that do
 * a write or delete and `INCR` the namespace's version only when they changed something, the
 * script reading one value plus versions, and the versions read (one `MGET`).
 *
 * @module
 */
import { StorageError } from "./errors.ts";

/** Prefix of the change-version keys; refused as a namespace name. */
export const VERSIONS_PREFIX = "kbs_cache_versions";
// KEYS[1] = data key, KEYS[2] = version key; ARGV[1] = value, ARGV[2] = "NX" or "".
const SET_BUMP = "local r if ARGV[2] == 'NX' then r = redis.call('SET', KEYS[1], ARGV[1], 'NX') " +
  "else r = redis.call('SET', KEYS[1], ARGV[1]) end " +
  "if r then redis.call('INCR', KEYS[2]) end return r";
// KEYS[1] = data key, KEYS[2…] = version keys: the value, then each version (nil when unset).
const GET_VERSIONS = "local out = {redis.call('GET', KEYS[1])} " +
  "for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) end return out";
const DEL_BUMP = "local v = redis.call('GETDEL', KEYS[1]) " +
  "if v then redis.call('INCR', KEYS[2]) end return v";

/** The key holding the change version of `namespace`. */
export function versionKey(namespace: string): string {
  return `${VERSIONS_PREFIX}:${namespace}`;
}

/** Throws an `invalid-namespace` error when `namespace` is the versions prefix. */
export function refuseVersionsPrefix(namespace: string): void {
  if (namespace === VERSIONS_PREFIX) {
    throw new StorageError(
      "invalid-namespace",
      `Invalid storage namespace ${
        JSON.stringify(namespace)
      }: the Redis backend keeps its change versions under that prefix`,
      { namespace },
    );
  }
}

/** `SET dataKey value [NX]` plus an `INCR` of `versionKey` when it set something. */
export function setBumpCommand(
  dataKey: string,
  versionKey: string,
  value: Uint8Array,
  overwrite: boolean,
): Array<string | Uint8Array> {
  return ["EVAL", SET_BUMP, "2", dataKey, versionKey, value, overwrite ? "" : "NX"];
}

/** `GETDEL dataKey` plus an `INCR` of `versionKey` when the key existed. */
export function deleteBumpCommand(dataKey: string, versionKey: string): string[] {
  return ["EVAL", DEL_BUMP, "2", dataKey, versionKey];
}

/** `GET dataKey` plus the versions of `names`, atomically in one script. */
export function getWithVersionsCommand(dataKey: string, names: readonly string[]): string[] {
  return ["EVAL", GET_VERSIONS, String(1 + names.length), dataKey, ...names.map(versionKey)];
}

/**
 * Splits the reply of {@linkcode getWithVersionsCommand}: the raw value (checked by the caller)
 * and the versions of `names`; `undefined` when the reply does not have that shape.
 */
export function splitVersionsReply(
  reply: unknown,
  names: readonly string[],
): { value: unknown; versions: string[] } | undefined {
  if (!Array.isArray(reply) || reply.length !== 1 + names.length) return undefined;
  return { value: reply[0], versions: names.map((_, i) => versionText(reply[i + 1])) };
}

/**
 * `StorageProvider.versions`: one `MGET` sent through `send`; `io` error naming `server` when it
 * fails, `corrupt` when the reply is not one entry per namespace.
 */
export async function readVersions(
  namespaces: readonly string[],
  server: string,
  send: (args: string[]) => Promise<unknown>,
): Promise<string[]> {
  let reply: unknown;
  try {
    reply = await send(["MGET", ...namespaces.map(versionKey)]);
  } catch (err) {
    throw new StorageError(
      "io",
      `Cannot read the change versions of ${namespaces.join(", ")} (${server}): ${
        err instanceof Error ? err.message : String(err)
      }`,
      { namespace: namespaces.join(","), cause: err },
    );
  }
  if (!Array.isArray(reply) || reply.length !== namespaces.length) {
    throw new StorageError("corrupt", `Unexpected MGET reply for change versions (${server})`);
  }
  return reply.map(versionText);
}

/** A version as Redis returns it (bytes of a decimal number, or nil → `"0"`). */
function versionText(v: unknown): string {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : "0";
}
