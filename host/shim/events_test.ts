import assert from "node:assert/strict";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { type Logger, nullLogger } from "@coco/lib/log";
import { ctrdEvents, ctrdEventsService } from "@coco/lib/proto";
import { Code, listen, TtrpcError, TtrpcServer } from "@coco/lib/ttrpc";
import { EventPublisher } from "./events.ts";

interface Got {
  topic: string;
  typeUrl: string;
  namespace: string;
  meta: string | undefined;
  value: Uint8Array;
}

async function eventsServer(failFirst: number, at?: string) {
  const dir = at ?? await Deno.makeTempDir();
  const got: Got[] = [];
  let calls = 0;
  const server = new TtrpcServer();
  server.registerService(ctrdEventsService.Events, {
    forward: (req, ctx) => {
      calls++;
      if (calls <= failFirst) throw new TtrpcError(Code.UNAVAILABLE, "busy");
      const e = req.envelope!;
      const meta = ctx.metadata.get("containerd-namespace-ttrpc")?.[0];
      got.push({
        topic: e.topic,
        typeUrl: e.event!.typeUrl,
        namespace: e.namespace,
        meta,
        value: e.event!.value,
      });
      return {};
    },
  });
  const address = `unix://${join(dir, "ttrpc.sock")}`;
  const serving = server.serve(await listen(address));
  return {
    address,
    got,
    async close() {
      await server.close();
      await serving;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function publishLifecycle(p: EventPublisher) {
  p.publish("/tasks/create", ctrdEvents.TaskCreateSchema, { containerId: "c1", pid: 7 });
  p.publish("/tasks/start", ctrdEvents.TaskStartSchema, { containerId: "c1", pid: 7 });
  p.publish("/tasks/exec-added", ctrdEvents.TaskExecAddedSchema, {
    containerId: "c1",
    execId: "e",
  });
  p.publish("/tasks/exec-started", ctrdEvents.TaskExecStartedSchema, {
    containerId: "c1",
    execId: "e",
  });
  p.publish("/tasks/exit", ctrdEvents.TaskExitSchema, { containerId: "c1", id: "e" });
  p.publish("/tasks/exit", ctrdEvents.TaskExitSchema, {
    containerId: "c1",
    id: "c1",
    exitStatus: 3,
  });
  p.publish("/tasks/delete", ctrdEvents.TaskDeleteSchema, { containerId: "c1", exitStatus: 3 });
}

const ORDER = [
  "/tasks/create",
  "/tasks/start",
  "/tasks/exec-added",
  "/tasks/exec-started",
  "/tasks/exit",
  "/tasks/exit",
  "/tasks/delete",
];

Deno.test("EventPublisher forwards events over ttrpc in order with the namespace metadata", async () => {
  const srv = await eventsServer(0);
  const p = new EventPublisher({
    namespace: "k8s.io",
    logger: nullLogger,
    ttrpcAddress: srv.address,
  });
  try {
    publishLifecycle(p);
    await p.flush();
    assert.deepEqual(srv.got.map((g) => g.topic), ORDER);
    assert.equal(srv.got[0]!.typeUrl, "containerd.events.TaskCreate");
    assert.ok(srv.got.every((g) => g.namespace === "k8s.io" && g.meta === "k8s.io"));
    const exit = fromBinary(ctrdEvents.TaskExitSchema, srv.got[5]!.value);
    assert.equal(exit.exitStatus, 3);
  } finally {
    await p.close();
    await srv.close();
  }
});

Deno.test("EventPublisher retries a failing Forward without reordering events", async () => {
  const srv = await eventsServer(2);
  const p = new EventPublisher({
    namespace: "default",
    logger: nullLogger,
    ttrpcAddress: srv.address,
    retries: 5,
  });
  try {
    publishLifecycle(p);
    await p.flush();
    assert.deepEqual(srv.got.map((g) => g.topic), ORDER);
  } finally {
    await p.close();
    await srv.close();
  }
});

Deno.test("EventPublisher falls back to `<publish-binary> publish` with the Any on stdin", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bin = join(dir, "containerd");
    await Deno.writeTextFile(
      bin,
      `#!/bin/sh\necho "$@" >> ${dir}/args\ncat > ${dir}/any.$$\nls ${dir} > /dev/null\n`,
      { mode: 0o755 },
    );
    const p = new EventPublisher({
      namespace: "default",
      logger: nullLogger,
      ttrpcAddress: `unix://${dir}/nobody.sock`,
      retries: 1,
      publishBinary: bin,
      containerdAddress: "/run/c.sock",
    });
    p.publish("/tasks/start", ctrdEvents.TaskStartSchema, { containerId: "c9", pid: 42 });
    await p.close();
    const args = await Deno.readTextFile(join(dir, "args"));
    assert.equal(
      args.trim(),
      "--address /run/c.sock publish --topic /tasks/start --namespace default",
    );
    const anyFile = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("any."))!.name;
    const any = fromBinary(AnySchema, await Deno.readFile(join(dir, anyFile)));
    assert.equal(any.typeUrl, "containerd.events.TaskStart");
    assert.equal(fromBinary(ctrdEvents.TaskStartSchema, any.value).pid, 42);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A logger that resolves `failed` on the first "event forward failed" warning. */
function watchingLogger() {
  let failedOnce!: () => void;
  const failed = new Promise<void>((r) => failedOnce = r);
  const errors: string[] = [];
  const logger: Logger = {
    ...nullLogger,
    warn: (msg: string) => {
      if (msg === "event forward failed") failedOnce();
    },
    error: (msg: string) => void errors.push(msg),
    child: () => logger,
  };
  return { logger, failed, errors };
}

Deno.test("EventPublisher keeps retrying while containerd is down and delivers in order once it is back", async () => {
  const dir = await Deno.makeTempDir();
  const w = watchingLogger();
  const p = new EventPublisher({
    namespace: "default",
    logger: w.logger,
    ttrpcAddress: `unix://${join(dir, "ttrpc.sock")}`,
    retries: 2,
    maxBackoffMs: 50,
  });
  // containerd is down: nothing listens yet.
  publishLifecycle(p);
  await w.failed;
  const srv = await eventsServer(0, dir);
  try {
    await p.flush();
    assert.deepEqual(srv.got.map((g) => g.topic), ORDER);
    assert.deepEqual(w.errors, []);
  } finally {
    await p.close();
    await srv.close();
  }
});

Deno.test("EventPublisher drops an event (logged) after retryForMs, and close() stops waiting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const w = watchingLogger();
    const p = new EventPublisher({
      namespace: "default",
      logger: w.logger,
      ttrpcAddress: `unix://${join(dir, "nobody.sock")}`,
      retryForMs: 0,
    });
    p.publish("/tasks/start", ctrdEvents.TaskStartSchema, { containerId: "c", pid: 1 });
    await p.flush();
    assert.deepEqual(w.errors, ["event lost"]);
    const q = new EventPublisher({
      namespace: "default",
      logger: w.logger,
      ttrpcAddress: `unix://${join(dir, "nobody.sock")}`,
    });
    q.publish("/tasks/exit", ctrdEvents.TaskExitSchema, { containerId: "c" });
    q.publish("/tasks/delete", ctrdEvents.TaskDeleteSchema, { containerId: "c" });
    await q.close(0);
    assert.deepEqual(w.errors, ["event lost", "event lost", "event lost"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
