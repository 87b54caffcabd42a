import assert from "node:assert/strict";
import { agent, create, type MessageInitShape } from "@coco/lib/proto";
import { AgentError } from "./errors.ts";
import { AgentPolicy } from "./policy.ts";
import { toPolicyInput } from "./policy_input.ts";
import { DEFAULT_POLICY_REGO } from "./policies/embedded.ts";

const policy = () => AgentPolicy.fromText(DEFAULT_POLICY_REGO, "default.rego");

type Init = MessageInitShape<typeof agent.CreateContainerRequestSchema>;

function createInput(cid: string, extra: Omit<Init, "$typeName"> = {}) {
  const init = {
    containerId: cid,
    OCI: { Root: { Path: "/run/kata-containers/x/rootfs" }, Mounts: [] },
    ...extra,
  } as Init;
  const req = create(agent.CreateContainerRequestSchema, init);
  return toPolicyInput(agent.CreateContainerRequestSchema, req);
}

function denied(fn: () => void, rule: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AgentError);
    assert.equal(err.code, "permission-denied");
    assert.match(err.message, rule);
    return true;
  });
}

Deno.test("policies/embedded.ts matches policies/default.rego", async () => {
  const file = await Deno.readTextFile(new URL("./policies/default.rego", import.meta.url));
  assert.equal(DEFAULT_POLICY_REGO, file);
});

Deno.test("toPolicyInput() keeps proto names, type_ renames, nulls and numbers", () => {
  const input = createInput("c1", {
    OCI: { Mounts: [{ destination: "/d", type: "bind", source: "/s" }] },
  });
  assert.equal(input.container_id, "c1");
  assert.equal(input.string_user, null);
  const oci = input.OCI as Record<string, unknown>;
  assert.deepEqual((oci.Mounts as unknown[])[0], {
    destination: "/d",
    source: "/s",
    type_: "bind",
    options: [],
  });
  assert.equal(oci.Process, null);
  const w = toPolicyInput(
    agent.WriteStreamRequestSchema,
    create(agent.WriteStreamRequestSchema, { data: new Uint8Array([1, 2]) }),
  );
  assert.deepEqual(w.data, [1, 2]);
});

Deno.test("default policy allows a normal container and exec into it", () => {
  const p = policy();
  p.check("CreateContainerRequest", createInput("c1"));
  assert.deepEqual(p.state, { c1: { confidential: false } });
  p.check("ExecProcessRequest", { container_id: "c1", exec_id: "e1" });
  p.check("ReadStreamRequest", { container_id: "c1", exec_id: "c1", len: 10 });
  p.check("RemoveContainerRequest", { container_id: "c1", timeout: 0 });
  assert.deepEqual(p.state, {});
});

Deno.test("default policy denies exec and stdio reads of guest-pulled containers", () => {
  const p = policy();
  p.check(
    "CreateContainerRequest",
    createInput("c2", {
      storages: [{ driver: "image_guest_pull", mountPoint: "/run/kata-containers/c2/rootfs" }],
    }),
  );
  denied(
    () => p.check("ExecProcessRequest", { container_id: "c2", exec_id: "e" }),
    /ExecProcessRequest is blocked by policy: rule data\.agent_policy\.ExecProcessRequest/,
  );
  denied(() => p.check("ReadStreamRequest", { container_id: "c2" }), /ReadStreamRequest/);
});

Deno.test("default policy denies host bind mounts and hooks, naming the rule", () => {
  const p = policy();
  const bind = createInput("c3", {
    OCI: { Mounts: [{ destination: "/h", type: "bind", source: "/etc", options: ["rbind"] }] },
  });
  denied(() => p.check("CreateContainerRequest", bind), /CreateContainerRequest/);
  const hooks = createInput("c4", {
    OCI: { Hooks: { Prestart: [{ Path: "/bin/sh" }] } },
  });
  denied(() => p.check("CreateContainerRequest", hooks), /CreateContainerRequest/);
  assert.deepEqual(p.state, {});
});

Deno.test("AgentPolicy.check() fails closed when a request has no rule", () => {
  const p = AgentPolicy.fromText("package agent_policy\ndefault A := true\n", "t.rego");
  assert.throws(() => p.check("CopyFileRequest", {}), { code: "internal" });
  const debug = AgentPolicy.fromText(
    "package agent_policy\ndefault AllowRequestsFailingPolicy := true\n",
    "t.rego",
  );
  debug.check("CopyFileRequest", {});
});

Deno.test("AgentPolicy.fromText() rejects broken Rego with invalid-argument", () => {
  assert.throws(() => AgentPolicy.fromText("package agent_policy\nx :=", "bad.rego"), {
    code: "invalid-argument",
  });
});
