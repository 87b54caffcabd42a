/**
 * Storage drivers of the agent (`Storage.driver`): an interface, one handler per driver and
 * {@linkcode addStorages} to run them.
 *
 * @module
 */
export type {
  ImagePuller,
  MountedStorage,
  Mounter,
  PulledImage,
  StorageContext,
  StorageHandler,
} from "./types.ts";
export { addStorages, isSandboxPull, STORAGE_HANDLERS } from "./handlers.ts";
export {
  parsePauseConfig,
  type PauseProcess,
  type PreparedPause,
  usePauseBundle,
} from "./pause_bundle.ts";
export { blockHandler, runTool, type ToolRunner } from "./encrypted_block.ts";
export { splitMountOptions, syscallMounter } from "./mounter.ts";
