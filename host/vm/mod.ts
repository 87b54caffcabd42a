/**
 * Pod VM launcher: configuration, QEMU command lines (TCG, KVM, SEV-SNP, TDX) and the running VM.
 *
 * @module
 */
export * from "./config.ts";
export { agentChannelParam, qemuArgs, vmPaths } from "./qemu_args.ts";
export { killAllVms, PodVm, PodVmError, resolveAccel, type StartOptions } from "./pod_vm.ts";
