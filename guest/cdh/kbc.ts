/**
 * Key broker clients (spec/guest.md §3.4): an interface, a discriminated config
 * ({@linkcode KbcConfig}) and one factory.
 */
import type { ResourceUri } from "@coco/lib/kbs";
import type { KbcConfig } from "./config.ts";
import { OfflineFsKbc } from "./offline_fs_kbc.ts";
import { PassportKbc, type TokenProvider } from "./passport_kbc.ts";

/** Fetches resources named by `kbs://` URIs. */
export interface Kbc {
  getResource(uri: ResourceUri): Promise<Uint8Array>;
  close(): void;
}

/** What the KBC factory needs besides the config. */
export interface KbcDeps {
  /** Token + TEE key source for `cc_kbc` (the AA over ttrpc in production). */
  tokens: TokenProvider;
  /** JSON files for `offline_fs_kbc`; default upstream's two files + `OFFLINE_FS_KBC_EXTRA_FILE_PATH`. */
  offlineFiles?: readonly string[];
  now?: () => number;
}

/** Builds the KBC named by `config`. */
export function createKbc(config: KbcConfig, deps: KbcDeps): Kbc {
  switch (config.name) {
    case "cc_kbc":
      return new PassportKbc({
        url: config.url,
        tokens: deps.tokens,
        ...(config.kbsCert ? { caCert: config.kbsCert } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      });
    case "offline_fs_kbc":
      return new OfflineFsKbc(deps.offlineFiles);
    default: {
      const never: never = config;
      throw new TypeError(`Cannot create KBC: unknown kbc ${JSON.stringify(never)}`);
    }
  }
}
