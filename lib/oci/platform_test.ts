import assert from "node:assert/strict";
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  OciError,
  parsePlatform,
  type Platform,
  platformMatches,
  selectPlatform,
} from "./mod.ts";

Deno.test("normalizePlatform() follows containerd", () => {
  const cases: [Platform, string][] = [
    [{ os: "Linux", architecture: "x86_64" }, "linux/amd64"],
    [{ os: "linux", architecture: "amd64", variant: "v1" }, "linux/amd64"],
    [{ os: "linux", architecture: "aarch64" }, "linux/arm64"],
    [{ os: "linux", architecture: "arm64", variant: "v8" }, "linux/arm64"],
    [{ os: "linux", architecture: "armhf" }, "linux/arm/v7"],
    [{ os: "linux", architecture: "armel" }, "linux/arm/v6"],
    [{ os: "linux", architecture: "arm" }, "linux/arm/v7"],
    [{ os: "linux", architecture: "arm", variant: "6" }, "linux/arm/v6"],
    [{ os: "linux", architecture: "i386" }, "linux/386"],
    [{ os: "macos", architecture: "arm64" }, "darwin/arm64"],
  ];
  for (const [p, want] of cases) assert.equal(formatPlatform(normalizePlatform(p)), want);
  assert.equal(formatPlatform(hostPlatform("x86_64")), "linux/amd64");
  assert.equal(formatPlatform(hostPlatform("aarch64")), "linux/arm64");
});

Deno.test("parsePlatform() parses os/arch[/variant] and rejects garbage", () => {
  assert.deepEqual(parsePlatform("linux/arm64/v8"), { os: "linux", architecture: "arm64" });
  for (const bad of ["linux", "linux/amd64/v1/x", "linux/", "lin ux/amd64"]) {
    assert.throws(
      () => parsePlatform(bad),
      (e) => e instanceof OciError && e.code === "invalid_platform",
    );
  }
});

Deno.test("selectPlatform() picks the matching manifest, preferring the exact variant", () => {
  const items = [
    { id: "ppc", platform: { os: "linux", architecture: "ppc64le" } },
    { id: "armv6", platform: { os: "linux", architecture: "arm", variant: "v6" } },
    { id: "armv7", platform: { os: "linux", architecture: "arm", variant: "v7" } },
    { id: "amd", platform: { os: "linux", architecture: "amd64" } },
    { id: "arm64", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { id: "win", platform: { os: "windows", architecture: "amd64" } },
    { id: "none" },
  ];
  const pick = (p: string) => selectPlatform(items, parsePlatform(p))?.id;
  assert.equal(pick("linux/amd64"), "amd");
  assert.equal(pick("linux/x86_64"), "amd");
  assert.equal(pick("linux/aarch64"), "arm64");
  assert.equal(pick("linux/arm/v7"), "armv7");
  assert.equal(pick("linux/arm/v6"), "armv6");
  assert.equal(pick("windows/amd64"), "win");
  assert.equal(pick("linux/s390x"), undefined);
  assert.equal(pick("linux/arm/v5"), undefined, "an arm v5 host cannot run v6 or v7");
  assert.equal(
    selectPlatform(items.filter((i) => i.id !== "armv7"), parsePlatform("linux/arm/v8"))?.id,
    "armv6",
    "a v8 arm host runs the best lower variant",
  );
  assert.ok(
    platformMatches(parsePlatform("linux/arm/v7"), {
      os: "linux",
      architecture: "arm",
      variant: "v5",
    }),
  );
  assert.ok(
    !platformMatches(parsePlatform("linux/amd64/v3"), { os: "linux", architecture: "amd64" }),
  );
});
