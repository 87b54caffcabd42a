import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import { keyprovider } from "@coco/lib/proto";
import { createClient, TtrpcError } from "@coco/lib/ttrpc";
import { memoryTtrpc } from "../_testing/ttrpc.ts";
import { ConfidentialDataHub, type Kbc, registerConfidentialDataHub } from "./mod.ts";
import { encodeUnwrapRequest, parseUnwrapResponse } from "../image/ocicrypt/keyprovider.ts";
import { wrapAnnotationPacket } from "../image/ocicrypt/mod.ts";

const KEK = crypto.getRandomValues(new Uint8Array(32));
const KID = "kbs:///default/image-kek/1";

function fixture() {
  const kbc: Kbc = {
    getResource: (uri) =>
      uri.path.join("/") === "default/image-kek/1"
        ? Promise.resolve(KEK)
        : Promise.reject(new Error("resource not found")),
    close() {},
  };
  const hub = new ConfidentialDataHub({
    kbc,
    skipSealedSecretVerification: false,
    logger: nullLogger,
  });
  const rpc = memoryTtrpc((s) => registerConfidentialDataHub(s, hub));
  return { rpc, client: createClient(rpc.client(), keyprovider.KeyProviderService) };
}

Deno.test("CDH KeyProviderService.UnWrapKey unwraps an attestation-agent layer key with the KBS KEK", async () => {
  const { rpc, client } = fixture();
  await using _ = rpc;
  const privateOptions = new TextEncoder().encode('{"cipher":"AES_256_CTR_HMAC_SHA256"}');
  const packet = await wrapAnnotationPacket(privateOptions, KEK, KID);
  const out = await client.unWrapKey({
    KeyProviderKeyWrapProtocolInput: encodeUnwrapRequest(packet),
  });
  assert.deepEqual(parseUnwrapResponse(out.KeyProviderKeyWrapProtocolOutput), privateOptions);

  // A packet naming a key the KBS does not have fails as a CDH error, not a crash.
  const unknown = await wrapAnnotationPacket(privateOptions, KEK, "kbs:///default/other/1");
  await assert.rejects(
    client.unWrapKey({ KeyProviderKeyWrapProtocolInput: encodeUnwrapRequest(unknown) }),
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "INTERNAL" && /\[CDH\] \[ERROR\]/.test(e.message),
  );
  await assert.rejects(
    client.wrapKey({ KeyProviderKeyWrapProtocolInput: new Uint8Array() }),
    (e: unknown) => e instanceof TtrpcError && e.code === "UNIMPLEMENTED",
  );
});
