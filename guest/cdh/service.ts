/**
 * The CDH ttrpc services: `api.GetResourceService`, `api.SealedSecretService`,
 * `api.ImagePullService` (pull, verify, decrypt and unpack into a bundle),
 * `keyprovider.KeyProviderService.UnWrapKey` (the `attestation-agent` ocicrypt key provider: the
 * layer key-encryption key is a KBS resource), and `api.SecureMountService` answering
 * UNIMPLEMENTED for now. Errors are mapped here, in one place, to INTERNAL
 * `[CDH] [ERROR]: <message>` as upstream.
 */
import { cdh, keyprovider } from "@coco/lib/proto";
import { Code, TtrpcError, type TtrpcServer } from "@coco/lib/ttrpc";
import { type Logger, nullLogger } from "@coco/lib/log";
import type { ConfidentialDataHub } from "./hub.ts";
import { serveUnwrapKey } from "../image/ocicrypt/mod.ts";

async function mapped<T>(logger: Logger, method: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TtrpcError) throw err;
    logger.error(`${method} failed`, { error: err });
    throw new TtrpcError(Code.INTERNAL, `[CDH] [ERROR]: ${(err as Error).message}`, { cause: err });
  }
}

const unimplemented = (what: string) => () => {
  throw new TtrpcError(Code.UNIMPLEMENTED, `[CDH] [ERROR]: ${what} is not implemented yet`);
};

/** Registers the CDH services of `hub` on `server`. */
export function registerConfidentialDataHub(
  server: TtrpcServer,
  hub: ConfidentialDataHub,
  logger: Logger = nullLogger,
): TtrpcServer {
  return server
    .registerService(cdh.GetResourceService, {
      getResource: (req) =>
        mapped(
          logger,
          "GetResource",
          async () => ({ Resource: await hub.getResource(req.ResourcePath) }),
        ),
    })
    .registerService(cdh.SealedSecretService, {
      unsealSecret: (req) =>
        mapped(
          logger,
          "UnsealSecret",
          async () => ({ plaintext: await hub.unsealSecret(req.secret) }),
        ),
    })
    .registerService(keyprovider.KeyProviderService, {
      unWrapKey: (req) =>
        mapped(logger, "UnWrapKey", async () => ({
          KeyProviderKeyWrapProtocolOutput: await serveUnwrapKey(
            req.KeyProviderKeyWrapProtocolInput,
            (uri) => hub.getResource(uri),
          ),
        })),
      wrapKey: unimplemented("WrapKey (encryption happens on the workload owner's side)"),
    })
    .registerService(cdh.SecureMountService, { secureMount: unimplemented("SecureMount") })
    .registerService(cdh.ImagePullService, {
      pullImage: (req) =>
        mapped(logger, "PullImage", async () => ({
          manifestDigest: await hub.pullImage(req.imageUrl, req.bundlePath),
        })),
    });
}
