/** Test helpers for code that reads reference values. */
import { type KvStore, StorageError } from "../storage/mod.ts";

/** A store whose every operation fails like an unreachable backend. */
export function downStore(namespace = "reference_value"): KvStore {
  const fail = (key?: string) =>
    Promise.reject(
      new StorageError("io", `Cannot reach the database for ${key ?? namespace}`, {
        namespace,
        ...(key === undefined ? {} : { key }),
      }),
    );
  return {
    namespace,
    get: (key) => fail(key),
    set: (key) => fail(key),
    delete: (key) => fail(key),
    list: () => fail(),
  };
}
