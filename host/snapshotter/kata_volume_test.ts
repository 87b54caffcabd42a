import assert from "node:assert/strict";
import {
  decodeKataVolumeOption,
  DUMMY_IMAGE_REFERENCE,
  encodeKataVolumeOption,
  guestPullMount,
  isNydusRootfsType,
  KATA_VOLUME_OPTION,
  KataVolumeError,
  parseGuestPullMount,
} from "./kata_volume.ts";

const b64 = (s: string) => new TextEncoder().encode(s).toBase64();

Deno.test("guestPullMount() builds the nydus proxy shape the shim parses back", () => {
  const metadata = {
    "containerd.io/snapshot/cri.image-ref": "registry.local/app:1",
    "containerd.io/snapshot.ref": "sha256:aa",
  };
  const m = guestPullMount({
    metadata,
    lowerdir: "/r/empty",
    upper: { upperdir: "/r/snapshots/4/fs", workdir: "/r/snapshots/4/work" },
  });
  assert.equal(m.type, "fuse.nydus-overlayfs");
  assert.equal(m.source, "overlay");
  assert.deepEqual(m.options.slice(0, 3), [
    "workdir=/r/snapshots/4/work",
    "upperdir=/r/snapshots/4/fs",
    "lowerdir=/r/empty",
  ]);
  assert.ok(m.options[3]!.startsWith(KATA_VOLUME_OPTION));
  assert.deepEqual(parseGuestPullMount(m), {
    volume_type: "image_guest_pull",
    source: "registry.local/app:1",
    options: [
      "containerd.io/snapshot/cri.image-ref=registry.local/app:1",
      "containerd.io/snapshot.ref=sha256:aa",
    ],
    image_pull: { metadata },
  });
});

Deno.test("guestPullMount() uses the dummy reference without cri.image-ref, no upper for views", () => {
  const m = guestPullMount({ metadata: {}, lowerdir: "/e" });
  assert.equal(m.options.length, 2);
  assert.equal(parseGuestPullMount(m)?.source, DUMMY_IMAGE_REFERENCE);
});

Deno.test("isNydusRootfsType() follows Kata's rule", () => {
  const cases: [string, boolean][] = [
    ["fuse.nydus-overlayfs", true],
    ["fuse./usr/local/bin/nydus-overlayfs", true],
    ["fuse.nydus-overlayfs-custom", true],
    ["overlay", false],
    ["fuse.fuse-overlayfs", false],
    ["nydus-overlayfs", false],
  ];
  for (const [type, want] of cases) assert.equal(isNydusRootfsType(type), want, type);
});

Deno.test("parseGuestPullMount() ignores ordinary mounts and other volume types", () => {
  assert.equal(parseGuestPullMount({ type: "overlay", source: "overlay", options: [] }), undefined);
  assert.equal(
    parseGuestPullMount({ type: "fuse.nydus-overlayfs", source: "overlay", options: ["ro"] }),
    undefined,
  );
  const direct = encodeKataVolumeOption({
    volume_type: "direct_block",
    direct_volume: { metadata: {} },
  });
  assert.equal(
    parseGuestPullMount({ type: "fuse.nydus-overlayfs", source: "x", options: [direct] }),
    undefined,
  );
});

Deno.test("decodeKataVolumeOption() rejects hostile values with invalid_kata_volume", () => {
  const cases: [string, RegExp][] = [
    ["%%%not-base64", /not base64/],
    [new Uint8Array([0xff, 0xfe]).toBase64(), /not base64 of UTF-8/],
    [b64("{not json"), /not JSON/],
    [b64("[]"), /volume must be an object/],
    [b64('{"volume_type":"rm -rf"}'), /volume_type "rm -rf" is not one of/],
    [b64('{"volume_type":"image_guest_pull"}'), /image_pull is required/],
    [b64('{"volume_type":"image_guest_pull","image_pull":{}}'), /metadata must be an object/],
    [
      b64('{"volume_type":"image_guest_pull","image_pull":{"metadata":{"a":1}}}'),
      /metadata\.a must be a string/,
    ],
    [
      b64('{"volume_type":"image_guest_pull","image_pull":{"metadata":{}},"options":[1]}'),
      /options\[0\]/,
    ],
  ];
  for (const [value, re] of cases) {
    assert.throws(() => decodeKataVolumeOption(value), (e: unknown) => {
      assert.ok(e instanceof KataVolumeError, String(e));
      assert.equal(e.code, "invalid_kata_volume");
      assert.match(e.message, /^Cannot read the io\.katacontainers\.volume mount option: /);
      assert.match(e.message, re);
      return true;
    }, value);
  }
});
