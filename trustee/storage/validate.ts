import { StorageError } from "./errors.ts";

const KEY_CHARS = /^[A-Za-z0-9_./-]+$/;

/**
 * Checks a namespace name: non-empty, no leading or trailing `/`, and no empty, `.` or `..`
 * segment (namespaces become directory and file names in the file backends).
 * Throws a {@linkcode StorageError} with code `invalid-namespace`.
 */
export function validateNamespace(name: string): void {
  const fail = (why: string): never => {
    throw new StorageError(
      "invalid-namespace",
      `Invalid storage namespace ${JSON.stringify(name)}: ${why}`,
      { namespace: name },
    );
  };
  if (name.length === 0) fail("it is empty");
  if (name.startsWith("/") || name.endsWith("/")) fail("it starts or ends with '/'");
  for (const segment of name.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      fail(`segment ${JSON.stringify(segment)} is not allowed`);
    }
  }
}

/**
 * Checks a key: non-empty, only `[A-Za-z0-9_./-]`, no `..` segment and not `.` itself.
 * Applied by every backend (upstream checks only in LocalFs, Postgres and Redis), so a key that
 * works in memory also works on disk. Throws a {@linkcode StorageError} with code `invalid-key`.
 */
export function validateKey(namespace: string, key: string): void {
  const fail = (why: string): never => {
    throw new StorageError(
      "invalid-key",
      `Invalid storage key ${JSON.stringify(key)} in namespace ${
        JSON.stringify(namespace)
      }: ${why}`,
      { namespace, key },
    );
  };
  if (key.length === 0) fail("it is empty");
  if (!KEY_CHARS.test(key)) fail("only the characters [A-Za-z0-9_./-] are allowed");
  if (key === ".") fail("'.' is not a valid key");
  if (key.split("/").includes("..")) fail("segment '..' is not allowed");
}
