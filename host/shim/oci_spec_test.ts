import assert from "node:assert/strict";
import { constrainForGuest, specFromOci } from "./oci_spec.ts";

Deno.test("constrainForGuest() strips what only makes sense on the host, as Kata does", () => {
  const { spec } = specFromOci({
    ociVersion: "1.0.2",
    process: { args: ["sh"], cwd: "/" },
    root: { path: "rootfs" },
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "network", path: "/var/run/netns/cni-1" },
        { type: "ipc", path: "/proc/1/ns/ipc" },
        { type: "cgroup" },
        { type: "time" },
        { type: "mount" },
      ],
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        memory: { limit: 1048576 },
        cpu: { shares: 2, cpus: "0-3", mems: "0" },
        pids: { limit: 100 },
      },
    },
  }, "");
  constrainForGuest(spec);
  assert.deepEqual(spec.Linux!.Namespaces!.map((n) => [n.Type, n.Path]), [
    ["pid", ""],
    ["ipc", ""],
    ["mount", ""],
  ]);
  const r = spec.Linux!.Resources!;
  assert.deepEqual(r.Devices, []);
  assert.equal(r.Pids, undefined);
  assert.equal(r.Memory!.Limit, 1048576n);
  assert.equal(r.CPU!.Shares, 2n);
  assert.equal(r.CPU!.Cpus, "");
  assert.equal(r.CPU!.Mems, "");
});
