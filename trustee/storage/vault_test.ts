import assert from "node:assert/strict";
import { storageConformance } from "./conformance.ts";
import { StorageError } from "./errors.ts";
import { startFakeVault } from "./fake_vault.ts";
import { createVaultStorage, vaultResourceStore } from "./vault.ts";

// Vault is not packaged here: these run against the in-process KV v1 fake (fake_vault.ts).
storageConformance("Vault KV v1 (fake)", () => {
  const vault = startFakeVault();
  return Promise.resolve({
    provider: createVaultStorage({ url: vault.url, token: vault.token }),
    cleanup: () => vault.close(),
  });
});

Deno.test("vaultResourceStore() writes <mount>/<repo>/<type>/<tag> as a data byte array", async () => {
  const vault = startFakeVault("kbs");
  const { store, close } = vaultResourceStore({
    url: vault.url,
    token: vault.token,
    mountPath: "kbs",
  });
  try {
    await store.set("default/key/1", new Uint8Array([104, 105]));
    assert.deepEqual(vault.secrets.get("default/key/1"), { data: [104, 105] });
    assert.deepEqual(await store.list(), ["default/key/1"]);
  } finally {
    close();
    await vault.close();
  }
});

Deno.test("vaultResourceStore() reads data as bytes when it is a string, a byte array or other JSON", async () => {
  const vault = startFakeVault();
  const { store, close } = vaultResourceStore({ url: vault.url, token: vault.token });
  try {
    vault.secrets.set("a/b/text", { data: "hello" });
    vault.secrets.set("a/b/bytes", { data: [1, 2, 3] });
    vault.secrets.set("a/b/obj", { data: { k: 1 } });
    assert.deepEqual(await store.get("a/b/text"), new TextEncoder().encode("hello"));
    assert.deepEqual(await store.get("a/b/bytes"), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.get("a/b/obj"), new TextEncoder().encode('{"k":1}'));
  } finally {
    close();
    await vault.close();
  }
});

Deno.test("vaultResourceStore() throws a corrupt StorageError naming the key when data is missing", async () => {
  const vault = startFakeVault();
  const { store, close } = vaultResourceStore({ url: vault.url, token: vault.token });
  try {
    vault.secrets.set("a/b/c", { other: 1 });
    await assert.rejects(store.get("a/b/c"), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "corrupt");
      assert.equal(err.key, "a/b/c");
      assert.match(
        err.message,
        /^Cannot read key "a\/b\/c" in namespace "repository" \(Vault .*\): the secret has no `data` member$/,
      );
      return true;
    });
  } finally {
    close();
    await vault.close();
  }
});

Deno.test("vaultResourceStore() throws an io StorageError with Vault's reason when the token is wrong", async () => {
  const vault = startFakeVault();
  const { store, close } = vaultResourceStore({ url: vault.url, token: "wrong" });
  try {
    await assert.rejects(store.get("a/b/c"), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "io");
      assert.match(err.message, /: HTTP 403: permission denied$/);
      return true;
    });
  } finally {
    close();
    await vault.close();
  }
});
