import assert from "node:assert/strict";
import { isShortName, OciError, parseReference, referenceAt } from "./mod.ts";

const D = "sha256:" + "ab".repeat(32);

Deno.test("parseReference() normalises Docker short names", () => {
  const cases: [string, string, string][] = [
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["user/app", "docker.io/user/app:latest", "user/app:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["index.docker.io/library/alpine:3", "docker.io/library/alpine:3", "alpine:3"],
    ["library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"],
    ["quay.io/org/img:v1", "quay.io/org/img:v1", "quay.io/org/img:v1"],
    ["localhost/img", "localhost/img:latest", "localhost/img:latest"],
    ["localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"],
    ["127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"],
    ["[::1]:5000/x:t", "[::1]:5000/x:t", "[::1]:5000/x:t"],
    ["Registry/x", "Registry/x:latest", "Registry/x:latest"],
    [
      "my-re.po/a-b__c/d--e:T_1.x-y",
      "my-re.po/a-b__c/d--e:T_1.x-y",
      "my-re.po/a-b__c/d--e:T_1.x-y",
    ],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseReference(input);
    assert.equal(ref.toString(), full, input);
    assert.equal(ref.familiar(), familiar, input);
  }
});

Deno.test("parseReference() exposes registry, repository, tag, digest and name", () => {
  const ref = parseReference(`localhost:5000/team/app:v2@${D}`);
  assert.equal(ref.registry, "localhost:5000");
  assert.equal(ref.repository, "team/app");
  assert.equal(ref.tag, "v2");
  assert.equal(ref.digest, D);
  assert.equal(ref.name, "localhost:5000/team/app");
  const byDigest = parseReference(`alpine@${D}`);
  assert.equal(byDigest.tag, undefined, "no default tag when a digest is given");
  assert.equal(parseReference("alpine").tag, "latest");
});

Deno.test("ImageReference.with() rewrites registry and repository, keeping tag and digest", () => {
  const ref = parseReference(`busybox:1@${D}`);
  assert.equal(
    ref.with({ registry: "mirror:5000" }).toString(),
    `mirror:5000/library/busybox:1@${D}`,
  );
  assert.equal(ref.with({ repository: "x/y" }).toString(), `docker.io/x/y:1@${D}`);
});

Deno.test("parseReference() rejects malformed references with a clear error", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["Busybox", /must be lowercase/],
    ["docker.io/Library/busybox", /must be lowercase/],
    ["a".repeat(64).replace(/a/g, "f"), /image ID/],
    ["busybox:", /malformed tag/],
    ["busybox:-x", /malformed tag/],
    ["busybox:" + "t".repeat(129), /malformed tag/],
    ["busybox@sha256:abc", /malformed digest/],
    ["busybox@sha256:" + "AB".repeat(32), /lowercase hex/],
    ["busybox@md5:" + "ab".repeat(16), /unsupported algorithm/],
    ["busybox@sha256:" + "ab".repeat(33), /64 lowercase hex/],
    ["quay.io//x", /path component ""/],
    ["quay.io/x/", /path component ""/],
    ["quay.io/-x", /path component "-x"/],
    ["quay.io/x_-y", /path component/],
    ["quay.io/a..b", /path component/],
    ["-bad.io/x", /malformed registry/],
    ["bad_host.io/x", /malformed registry/],
    ["host.io:port/x", /malformed tag|malformed registry/],
    [":tag", /missing repository/],
    ["a/" + "b".repeat(260), /longer than 255/],
    ["x".repeat(5000), /longer than 4096/],
    ["a b", /path component/],
    ["quay.io/x@", /malformed digest/],
  ];
  for (const [input, re] of bad) {
    assert.throws(() => parseReference(input), (e: unknown) => {
      assert.ok(e instanceof OciError, input);
      assert.equal(e.code, "invalid_reference");
      assert.match(e.message, re, input);
      assert.match(e.message, /^Invalid image reference/);
      return true;
    });
  }
});

Deno.test("referenceAt() takes the host literally and isShortName() spots Docker Hub names", () => {
  assert.equal(referenceAt("mirror", "lib/busybox:1").toString(), "mirror/lib/busybox:1");
  assert.equal(referenceAt("m:5000", "x").toString(), "m:5000/x:latest");
  assert.throws(() => referenceAt("bad host", "x"), OciError);
  assert.throws(() => referenceAt("h", "Upper"), /lowercase/);
  assert.ok(isShortName("busybox"));
  assert.ok(isShortName("user/app:1"));
  assert.ok(!isShortName("docker.io/busybox"));
  assert.ok(!isShortName("localhost/app"));
  assert.ok(!isShortName("host:5000/app"));
});
