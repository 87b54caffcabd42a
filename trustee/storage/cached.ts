/**
 * A read-through cache in front of one {@linkcode KvStore}, for small, hot, rarely written
 * namespaces (policies, reference values). Reads within `ttlMs` of the last fetch are served
 * from memory; writes and deletes through the cache update it at once, so a replica always sees
 * its own writes, and other replicas' writes (or hand edits on disk) within `ttlMs`.
 * Never use it for secrets or sessions.
 *
 * @module
 */
import type { KvStore, SetOptions, SetResult } from "./types.ts";

interface Entry<T> {
  value: T;
  at: number;
}

/** Wraps `inner`; `ttlMs <= 0` returns `inner` unchanged. */
export function cachedStore(inner: KvStore, ttlMs: number, now: () => number = Date.now): KvStore {
  if (ttlMs <= 0) return inner;
  const values = new Map<string, Entry<Uint8Array | undefined>>();
  let keys: Entry<string[]> | undefined;
  const fresh = (e: Entry<unknown> | undefined) => e !== undefined && now() - e.at < ttlMs;
  return {
    namespace: inner.namespace,
    async get(key: string) {
      const hit = values.get(key);
      if (fresh(hit)) return hit!.value?.slice();
      const value = await inner.get(key);
      if (values.size > 4096) values.clear();
      values.set(key, { value: value?.slice(), at: now() });
      return value;
    },
    async list() {
      if (fresh(keys)) return [...keys!.value];
      const listed = await inner.list();
      keys = { value: [...listed], at: now() };
      return listed;
    },
    async set(key: string, value: Uint8Array, opts?: SetOptions): Promise<SetResult> {
      const r = await inner.set(key, value, opts);
      values.delete(key);
      keys = undefined;
      if (r === "inserted") values.set(key, { value: value.slice(), at: now() });
      return r;
    },
    async delete(key: string) {
      const old = await inner.delete(key);
      values.set(key, { value: undefined, at: now() });
      keys = undefined;
      return old;
    },
  };
}
