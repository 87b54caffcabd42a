import assert from "node:assert/strict";
import {
  formatResourceUri,
  isResourcePath,
  parseResourceUri,
  ResourceUriError,
  resourceUriToKbsPath,
} from "./resource_uri.ts";

Deno.test("parseResourceUri() accepts kbs:/// and kbs+plugin:// forms", () => {
  const a = parseResourceUri("kbs:///default/key/1");
  assert.deepEqual(a, { plugin: "resource", authority: "", path: ["default", "key", "1"] });
  assert.equal(resourceUriToKbsPath(a), "/kbs/v0/resource/default/key/1");
  const b = parseResourceUri("kbs+pkcs11://kbs.example:8080/a/b/c?x=1");
  assert.equal(b.plugin, "pkcs11");
  assert.equal(b.authority, "kbs.example:8080");
  assert.equal(resourceUriToKbsPath(b), "/kbs/v0/pkcs11/a/b/c?x=1");
  assert.equal(formatResourceUri(a), "kbs:///default/key/1");
  assert.equal(formatResourceUri(parseResourceUri("kbs+resource:///r/t/g")), "kbs:///r/t/g");
});

Deno.test("parseResourceUri() rejects other schemes, empty plugin and traversal", () => {
  for (
    const bad of [
      "http:///a/b/c",
      "kbs+:///a/b/c",
      "kbs://",
      "kbs:///a/../b",
      "kbs:///a//b",
      "kbs:///.x/y/z",
    ]
  ) {
    assert.throws(() => parseResourceUri(bad), ResourceUriError, bad);
  }
});

Deno.test("isResourcePath() needs exactly three valid segments", () => {
  assert.equal(isResourcePath(["a", "b", "c.d"]), true);
  assert.equal(isResourcePath(["a", "b"]), false);
  assert.equal(isResourcePath(["a", "b", ".c"]), false);
  assert.equal(isResourcePath(["a", "b", ""]), false);
});
