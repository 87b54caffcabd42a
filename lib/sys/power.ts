/**
 * Whole-system calls for the agent running as PID 1: `sync(2)` and `reboot(2)`.
 *
 * @module
 */
import { check, lib } from "./_ffi.ts";

/** `reboot(2)` commands (`LINUX_REBOOT_CMD_*`). */
export const RebootCommand = {
  RESTART: 0x01234567,
  HALT: 0xcdef0123,
  POWER_OFF: 0x4321fedc,
} as const;

/** A value of {@link RebootCommand}. */
export type RebootCommand = typeof RebootCommand[keyof typeof RebootCommand];

/** Flushes every filesystem's dirty pages (`sync(2)`); never fails. */
export function sync(): void {
  lib().sync();
}

/**
 * Calls `reboot(2)` with `cmd`. Needs CAP_SYS_BOOT; callers should {@link sync} first. On success
 * the call does not return (POWER_OFF / RESTART).
 */
export function reboot(cmd: RebootCommand): void {
  // The kernel takes the command as a 32-bit int: pass the bit pattern as a signed value.
  check(lib().reboot(cmd | 0), "reboot", "");
}
