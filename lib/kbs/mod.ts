/**
 * KBS protocol v0.4.0: wire types and parsers, TEE names, runtime-data binding, resource URIs and
 * the KBS error codes. Shared by the trustee (server) and the guest (client).
 *
 * @module
 */
export * from "./errors.ts";
export * from "./resource_uri.ts";
export * from "./runtime_data.ts";
export * from "./tee.ts";
export * from "./types.ts";
