/**
 * `coco-host agent-ctl --socket PATH <rpc> [json]`: calls one agent RPC by name with a JSON
 * request (protobuf JSON names, e.g. `{"containerId": "c1"}`) and prints the JSON response.
 * `read-all <cid> [execId]` prints a process's stdout until EOF.
 */
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Command } from "@commander-js/extra-typings";
import { agent, health } from "@coco/lib/proto";
import { TtrpcClient, TtrpcError } from "@coco/lib/ttrpc";

function findMethod(rpc: string) {
  for (const service of [agent.AgentService, health.Health]) {
    const m = service.methods.find((x) => x.name === rpc || x.localName === rpc);
    if (m) return { service, method: m };
  }
  return undefined;
}

/** The `agent-ctl` subcommand. */
export function agentCtlCommand() {
  return new Command("agent-ctl")
    .description("call one kata agent RPC (grpc.AgentService / grpc.Health) and print the reply")
    .requiredOption("--socket <address>", "agent address: unix:///path, /path or vsock://CID:PORT")
    .argument("<rpc>", "method name, e.g. CreateContainer, Check")
    .argument("[json]", "request as protobuf JSON", "{}")
    .action(async (rpc, json, o) => {
      const found = findMethod(rpc);
      if (!found) throw new Error(`Unknown agent RPC "${rpc}"`);
      let parsed: JsonValue;
      try {
        parsed = JSON.parse(json) as JsonValue;
      } catch (err) {
        throw new Error(`Request for ${rpc} is not JSON: ${(err as Error).message}`);
      }
      const request = fromJson(found.method.input, parsed);
      const client = await TtrpcClient.connect(o.socket);
      try {
        const reply = await client.call(
          found.service.typeName,
          found.method.name,
          found.method.input,
          found.method.output,
          request,
        );
        console.log(JSON.stringify(toJson(found.method.output, reply)));
      } catch (err) {
        if (!(err instanceof TtrpcError)) throw err;
        console.error(`agent-ctl: ${rpc} failed: ${err.code}: ${err.message}`);
        Deno.exitCode = 1;
      } finally {
        await client.close();
      }
    });
}
