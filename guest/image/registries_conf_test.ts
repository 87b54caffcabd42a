import assert from "node:assert/strict";
import { parseReference } from "@coco/lib/oci";
import { ImageError } from "./errors.ts";
import { parseRegistriesConf, pullSources } from "./registries_conf.ts";

const CONF = `
unqualified-search-registries = ["docker.io", "example1.com"]

[[registry]]
prefix = "example.com/banned"
blocked = true

[[registry]]
location = "mirror-test.com"
[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true
[[registry.mirror]]
location = "second-mirror/sub"

[[registry]]
prefix = "remapping-test.com"
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "remapping-test.com/deeper"
location = "deep.example/x"

[[registry]]
prefix = "*.wild.example"
blocked = true
`;

const sources = (input: string) =>
  pullSources(parseRegistriesConf(CONF), parseReference(input), input).map((s) =>
    `${s.reference.toString()}${s.insecure ? " (http)" : ""}${s.mirror ? " (mirror)" : ""}`
  );

Deno.test("pullSources() tries mirrors first, then the primary", () => {
  assert.deepEqual(sources("mirror-test.com/app:1"), [
    "127.0.0.1:5000/app:1 (http) (mirror)",
    "second-mirror/sub/app:1 (mirror)",
    "mirror-test.com/app:1",
  ]);
});

Deno.test("pullSources() remaps with the longest anchored prefix", () => {
  assert.deepEqual(sources("remapping-test.com/a/b"), ["127.0.0.1:5000/a/b:latest (http)"]);
  assert.deepEqual(sources("remapping-test.com/deeper/c:2"), ["deep.example/x/c:2"]);
  // "remapping-test.com.evil" must not match the "remapping-test.com" prefix.
  assert.deepEqual(sources("remapping-test.com.evil/a"), ["remapping-test.com.evil/a:latest"]);
  // Upstream's unanchored search would match this; ours does not.
  assert.deepEqual(sources("other.io/remapping-test.com/x"), [
    "other.io/remapping-test.com/x:latest",
  ]);
});

Deno.test("pullSources() drops blocked candidates and fails when none is left", () => {
  assert.throws(
    () => sources("example.com/banned/x"),
    (e) => e instanceof ImageError && e.code === "blocked",
  );
  assert.throws(
    () => sources("a.wild.example/x"),
    (e) => e instanceof ImageError && e.code === "blocked",
  );
  assert.deepEqual(sources("example.com/bannedx/y"), ["example.com/bannedx/y:latest"]);
});

Deno.test("pullSources() expands short names over unqualified-search-registries", () => {
  assert.deepEqual(sources("busybox:1"), ["docker.io/library/busybox:1", "example1.com/busybox:1"]);
  assert.deepEqual(sources("docker.io/library/busybox:1"), ["docker.io/library/busybox:1"]);
});

Deno.test("parseRegistriesConf() rejects bad files naming the key", () => {
  const bad: [string, RegExp][] = [
    ["[[registry]]\ninsecure = true", /registry\[0\] needs a prefix or a location/],
    ['[[registry]]\nprefix = "a.io"\n[[registry.mirror]]\nlocation = ""', /mirror\[0\].location/],
    ['[[registry]]\nprefix = "a.io"\nblocked = "yes"', /blocked must be a boolean/],
    ['[[registry]]\nprefix = "a.*.io"', /wildcard/],
    ['[[registry]]\nprefix = "*.io"\nlocation = "x.io"', /wildcard prefix cannot be remapped/],
    ['[[registry]]\nprefix = "a.io"\nmirrors = []', /unknown key "mirrors"/],
    ["unqualified-search-registries = [1]", /unqualified-search-registries/],
    ["registry = 1", /registry must be an array/],
    ["not toml [", /not valid TOML/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseRegistriesConf(text, "test.conf"), (e: unknown) => {
      assert.ok(e instanceof ImageError);
      assert.equal(e.code, "invalid_config_file");
      assert.match(e.message, /test\.conf/);
      assert.match(e.message, re);
      return true;
    });
  }
  // Known upstream keys we do not act on are accepted.
  parseRegistriesConf(
    'short-name-mode = "enforcing"\n[[registry]]\nprefix = "a.io"\nmirror-by-digest-only = true',
  );
});
