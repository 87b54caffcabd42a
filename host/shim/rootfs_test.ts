import assert from "node:assert/strict";
import { create, ctrdTypes } from "@coco/lib/proto";
import { ShimError } from "./errors.ts";
import { specFromOci } from "./oci_spec.ts";
import { guestPullStorage, guestPullVolume, imageReference, isNydusMount } from "./rootfs.ts";

const mount = (type: string, options: string[]) =>
  create(ctrdTypes.MountSchema, { type, source: "overlay", options });

Deno.test("specFromOci() keeps the workload and drops host-only parts", () => {
  const { spec, annotations, rootPath, terminal } = specFromOci({
    ociVersion: "1.0.2",
    process: {
      terminal: true,
      user: { uid: 1000, gid: 1000, additionalGids: [5] },
      args: ["sh"],
      env: ["A=1"],
      cwd: "/w",
      apparmorProfile: "cri-containerd.apparmor.d",
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
    },
    root: { path: "rootfs", readonly: true },
    hooks: { prestart: [{ path: "/host/bin/evil" }] },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    annotations: { "io.kubernetes.cri.image-name": "busybox" },
    linux: {
      namespaces: [{ type: "network", path: "/var/run/netns/cni-1" }, { type: "pid" }],
      resources: { memory: { limit: 67108864 }, pids: { limit: 10 } },
      cgroupsPath: "/k8s/pod1",
    },
  }, "/run/kata-containers/c1/rootfs");
  assert.equal(spec.Root?.Path, "/run/kata-containers/c1/rootfs");
  assert.equal(spec.Root?.Readonly, true);
  assert.equal(rootPath, "rootfs");
  assert.equal(terminal, true);
  assert.equal(spec.Hooks, undefined);
  assert.deepEqual(spec.Process?.Args, ["sh"]);
  assert.equal(spec.Process?.User?.UID, 1000);
  assert.equal("ApparmorProfile" in (spec.Process ?? {}), false);
  assert.deepEqual(spec.Linux?.Namespaces, [{ Type: "network", Path: "" }, {
    Type: "pid",
    Path: "",
  }]);
  assert.equal(spec.Linux?.Resources?.Memory?.Limit, 67108864n);
  assert.equal(annotations["io.kubernetes.cri.image-name"], "busybox");
});

Deno.test("specFromOci() names a mistyped member", () => {
  assert.throws(
    () => specFromOci({ process: { args: "sh" } }, "/r"),
    (e: unknown) =>
      e instanceof ShimError && e.code === "bad-bundle" && /process.args/.test(e.message),
  );
  assert.throws(
    () => specFromOci({ mounts: [{ type: "bind" }] }, "/r"),
    (e: unknown) => e instanceof ShimError && /mounts\[0\].destination/.test(e.message),
  );
});

Deno.test("guestPullVolume() reads the snapshotter's image_guest_pull marker", () => {
  const vol = {
    volume_type: "image_guest_pull",
    source: "quay.io/a/b:1",
    image_pull: { metadata: { "containerd.io/snapshot/cri.layer-digest": "sha256:ab" } },
  };
  const b64 = new TextEncoder().encode(JSON.stringify(vol)).toBase64();
  const m = mount("fuse.nydus-overlayfs", ["workdir=/w", `io.katacontainers.volume=${b64}`]);
  assert.ok(isNydusMount(m));
  assert.deepEqual(guestPullVolume([m]), {
    source: "quay.io/a/b:1",
    metadata: { "containerd.io/snapshot/cri.layer-digest": "sha256:ab" },
  });
  assert.equal(guestPullVolume([mount("overlay", ["lowerdir=/l"])]), undefined);
  assert.throws(
    () => guestPullVolume([mount("overlay", ["io.katacontainers.volume=%%%"])]),
    (e: unknown) => e instanceof ShimError && e.code === "bad-request",
  );
  const noMeta = new TextEncoder().encode(JSON.stringify({ volume_type: "image_guest_pull" }))
    .toBase64();
  assert.throws(
    () => guestPullVolume([mount("overlay", [`io.katacontainers.volume=${noMeta}`])]),
    /image_pull.metadata/,
  );
});

Deno.test("imageReference() and guestPullStorage() build the agent storage as Kata does", () => {
  assert.equal(imageReference(true, {}), "pause");
  assert.equal(imageReference(false, { "io.kubernetes.cri.image-name": "busybox:1" }), "busybox:1");
  assert.throws(() => imageReference(false, {}), /io.kubernetes.cri.image-name/);
  const st = guestPullStorage("c1", "/run/kata-containers", "busybox:1", { a: "b" });
  assert.deepEqual(st, {
    driver: "image_guest_pull",
    driverOptions: ['image_guest_pull={"metadata":{"a":"b"}}'],
    source: "busybox:1",
    fstype: "overlay",
    options: [],
    mountPoint: "/run/kata-containers/c1/rootfs",
  });
});
