/**
 * Guest roles as start/stop units: the AA and CDH on ttrpc sockets, and the all-in-one config.
 * `main.ts` wires these to the command line; tests start them in process.
 *
 * @module
 */
export { startAa, type StartAaOptions } from "./aa.ts";
export { startCdh, type StartCdhOptions } from "./cdh.ts";
export { type GuestConfig, loadGuestConfig, parseGuestConfig } from "./guest_config.ts";
export { type RunningRole, serveTtrpc } from "./socket.ts";
