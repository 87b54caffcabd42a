/**
 * grpc-js service definitions built from protoc-gen-es service descriptors: each method's path is
 * `/<package.Service>/<Method>`, and (de)serialisation is `toBinary` / `fromBinary` of the
 * generated message schemas. No `.proto` is read at run time.
 */
import { Buffer } from "node:buffer";
import {
  type DescMessage,
  fromBinary,
  type GenService,
  type GenServiceMethods,
  type MessageShape,
  toBinary,
} from "@coco/lib/proto";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

function methodDefinition<I extends DescMessage, O extends DescMessage>(
  serviceName: string,
  name: string,
  input: I,
  output: O,
  responseStream: boolean,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path: `/${serviceName}/${name}`,
    requestStream: false,
    responseStream,
    originalName: name,
    requestSerialize: (m) => Buffer.from(toBinary(input, m)),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (m) => Buffer.from(toBinary(output, m)),
    responseDeserialize: (b) => fromBinary(output, b),
  };
}

/**
 * The grpc-js definition of a generated service, keyed by upstream method name (`Prepare`).
 * Only unary and server-streaming methods are supported (all the snapshot service needs).
 */
export function grpcServiceDefinition<T extends GenServiceMethods>(
  service: GenService<T>,
): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    if (m.methodKind !== "unary" && m.methodKind !== "server_streaming") {
      throw new TypeError(`${service.typeName}/${m.name}: ${m.methodKind} methods unsupported`);
    }
    def[m.name] = methodDefinition(
      service.typeName,
      m.name,
      m.input,
      m.output,
      m.methodKind === "server_streaming",
    ) as MethodDefinition<unknown, unknown>;
  }
  return def as ServiceDefinition;
}
