/**
 * The CDH's {@linkcode TokenProvider}: asks the Attestation Agent for a `kbs` token over ttrpc
 * (GetToken) and loads the TEE private key from the returned PEM.
 */
import { teeKeyFromPem } from "@coco/lib/jose";
import { obj, str } from "@coco/lib/json/fields";
import { aa } from "@coco/lib/proto";
import { createClient } from "@coco/lib/ttrpc";
import { REFRESH_TOKEN_METADATA } from "../attestation_agent/agent.ts";
import type { LazyTtrpcClient } from "../_rpc/lazy_client.ts";
import type { KbsCredentials, TokenProvider } from "./passport_kbc.ts";

/** Parses the AA's `{"token","tee_keypair"}` reply. */
export async function parseAaKbsToken(bytes: Uint8Array): Promise<KbsCredentials> {
  let o: Record<string, unknown>;
  try {
    o = obj(JSON.parse(new TextDecoder().decode(bytes)), "AA token");
  } catch (err) {
    throw new TypeError(`AA GetToken(kbs) reply is not a JSON object: ${(err as Error).message}`);
  }
  const token = str(o.token, "AA token.token");
  const teeKey = await teeKeyFromPem(str(o.tee_keypair, "AA token.tee_keypair"));
  return { token, teeKey };
}

/** Tokens from the AA reached through `client`. */
export function aaTokenProvider(client: LazyTtrpcClient, timeoutMs = 50_000): TokenProvider {
  return {
    async getToken(options = {}) {
      const metadata = options.refresh ? { [REFRESH_TOKEN_METADATA]: "true" } : undefined;
      const reply = await client.call((c) =>
        createClient(c, aa.AttestationAgentService).getToken({ TokenType: "kbs" }, {
          timeoutMs,
          ...(metadata ? { metadata } : {}),
        })
      );
      return await parseAaKbsToken(reply.Token);
    },
  };
}
