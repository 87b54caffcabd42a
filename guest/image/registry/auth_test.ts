import assert from "node:assert/strict";
import { ImageError } from "../errors.ts";
import { lookupCredentials, parseAuthFile } from "./auth_file.ts";
import { parseChallenges } from "./challenge.ts";

Deno.test("parseChallenges() reads bearer and basic challenges with quoted values", () => {
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.example/token",service="reg, \\"x\\"",scope="repository:a/b:pull"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.example/token",
        service: 'reg, "x"',
        scope: "repository:a/b:pull",
      },
    }],
  );
  assert.deepEqual(parseChallenges('Basic realm="r", Bearer realm="t"').map((c) => c.scheme), [
    "basic",
    "bearer",
  ]);
  assert.deepEqual(parseChallenges(""), []);
  assert.equal(
    parseChallenges('Bearer realm="' + "a".repeat(100000)).length,
    1,
    "bounded, no hang",
  );
});

Deno.test("lookupCredentials() walks from host/ns/repo down to host, then normalised keys", () => {
  const b = (s: string) => ({ auth: btoa(s) });
  const file = parseAuthFile({
    auths: {
      "quay.io/team/app": b("exact:1"),
      "quay.io/team": b("ns:2"),
      "quay.io": b("host:3"),
      "https://index.docker.io/v1/": b("hub:4\n"),
      "empty.io": { auth: "" },
    },
  });
  assert.equal(lookupCredentials(file, "quay.io", "team/app")?.username, "exact");
  assert.equal(lookupCredentials(file, "quay.io", "team/other")?.username, "ns");
  assert.equal(lookupCredentials(file, "quay.io", "x/y")?.username, "host");
  assert.deepEqual(lookupCredentials(file, "docker.io", "library/busybox"), {
    username: "hub",
    password: "4",
  });
  assert.equal(lookupCredentials(file, "empty.io", "x"), undefined);
  assert.equal(lookupCredentials(file, "other.io", "x"), undefined);
});

Deno.test("parseAuthFile() rejects malformed files naming the key", () => {
  const cases: [unknown, RegExp][] = [
    [[], /not a JSON object/],
    [{ auths: [] }, /auths must be an object/],
    [{ auths: { "a.io": 1 } }, /auths\["a.io"\] must be an object/],
    [{ auths: { "a.io": { auth: 1 } } }, /auth must be a string/],
    [{ auths: { "a.io": { auth: "!!!" } } }, /not base64/],
    [{ auths: { "a.io": { auth: btoa("nocolon") } } }, /must encode "user:password"/],
  ];
  for (const [v, re] of cases) {
    assert.throws(
      () => parseAuthFile(v, "auth.json"),
      (e) => e instanceof ImageError && e.code === "invalid_config_file" && re.test(e.message),
    );
  }
});
