/** `coco-guest get-resource <kbs:// uri>`: one resource to stdout, via the CDH or straight from a KBS. */
import { Command, Option } from "@commander-js/extra-typings";
import { KbsClient } from "@coco/lib/kbs/client";
import { parseResourceUri } from "@coco/lib/kbs";
import { cdh } from "@coco/lib/proto";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";
import { createAttester, resolveAttesterConfig } from "../attester/mod.ts";
import { DEFAULT_CDH_SOCKET } from "../cdh/config.ts";

async function viaCdh(uri: string, socket: string): Promise<Uint8Array> {
  const client = await TtrpcClient.connect(socket);
  try {
    const reply = await createClient(client, cdh.GetResourceService).getResource({
      ResourcePath: uri,
    }, {
      timeoutMs: 50_000,
    });
    return reply.Resource;
  } finally {
    await client.close();
  }
}

async function viaKbs(
  uri: string,
  url: string,
  tee: string | undefined,
  cert?: string,
): Promise<Uint8Array> {
  const evidence = createAttester(await resolveAttesterConfig({ flag: tee }));
  const client = new KbsClient({
    url,
    evidence,
    ...(cert ? { caCert: await Deno.readTextFile(cert) } : {}),
  });
  try {
    return await client.getResource(parseResourceUri(uri));
  } finally {
    client.close();
  }
}

/** The `get-resource` subcommand. */
export function getResourceCommand() {
  return new Command("get-resource")
    .description("fetch a kbs:// resource and write its raw bytes to stdout")
    .argument("<uri>", "resource URI, e.g. kbs:///default/key/1")
    .addOption(
      new Option("--cdh-socket <uri>", "ask the CDH at this ttrpc address").conflicts("kbsUrl"),
    )
    .option("--kbs-url <url>", "attest to this KBS directly instead of using the CDH")
    .option("--kbs-cert <file>", "extra root CA (PEM) for an https KBS")
    .option("--tee <tee>", "attester for --kbs-url: tdx, snp, tpm or sample (default: detect)")
    .action(async (uri, o) => {
      parseResourceUri(uri);
      const bytes = o.kbsUrl
        ? await viaKbs(uri, o.kbsUrl, o.tee, o.kbsCert)
        : await viaCdh(uri, o.cdhSocket ?? DEFAULT_CDH_SOCKET);
      await Deno.stdout.write(bytes);
    });
}
