/**
 * @module nc/qemu
 * The real hypervisor driver (QEMU + QMP), its pure command-line builder and KVM detection.
 */
export * from './argv.js';
export * from './qmp.js';
export * from './process.js';
export * from './accel.js';
export * from './qemu-driver.js';
