/**
 * Pod VM launcher: configuration, QEMU command lines (TCG, KVM, SEV-SNP, TDX) and the running VM.
 *
 * @module
 */
export * from "./config.ts";
export { agentChannelParam, qemuArgs, vmPaths } from "./qemu_args.ts";
export {
  formatVerityParams,
  parseVerityParams,
  resolveRootfsImage,
  ROOTFS_SERIAL,
  type RootfsImage,
  rootfsKernelParam,
  type VerityParams,
} from "./rootfs_image.ts";
export { killAllVms, PodVm, PodVmError, resolveAccel, type StartOptions } from "./pod_vm.ts";
