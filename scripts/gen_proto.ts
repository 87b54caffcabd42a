/**
 * `deno task proto`: regenerates `lib/proto/gen/` from the `.proto` files in `lib/proto/protos/`
 * with buf + protoc-gen-es (both from npm, run through `npx`). Writes `lib/proto/buf.yaml` and
 * `lib/proto/buf.gen.yaml`, clears `gen/`, then runs `buf generate` in `lib/proto/`.
 *
 * Usage: deno task proto
 */
const BUF = "@bufbuild/buf@1.75.0";
const PROTOC_GEN_ES = "@bufbuild/protoc-gen-es@2.17.0";

const protoDir = new URL("../lib/proto/", import.meta.url);

const bufYaml = `# Written by scripts/gen_proto.ts.
version: v2
modules:
  - path: protos
`;

const bufGenYaml = `# Written by scripts/gen_proto.ts.
version: v2
clean: true
plugins:
  - local: protoc-gen-es
    out: gen
    include_imports: true
    opt:
      - target=ts
      - import_extension=ts
`;

async function main(): Promise<number> {
  await Deno.writeTextFile(new URL("buf.yaml", protoDir), bufYaml);
  await Deno.writeTextFile(new URL("buf.gen.yaml", protoDir), bufGenYaml);
  const cmd = new Deno.Command("npx", {
    args: ["--yes", "-p", BUF, "-p", PROTOC_GEN_ES, "buf", "generate"],
    cwd: protoDir,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) {
    console.error(`Cannot generate lib/proto/gen: buf generate exited with code ${code}`);
    return code;
  }
  console.log("generated lib/proto/gen");
  return 0;
}

Deno.exit(await main());
