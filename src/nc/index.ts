/**
 * @module nc
 * The node controller (port 8775): `startNodeController(config)` runs it; `createHypervisorDriver` builds the
 * driver it needs; `buildGuestImage` builds the default guest image (`euca image build`).
 */
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { HypervisorDriver } from './driver/index.js';
import { FakeDriver } from './fake/index.js';
import { QemuDriver, detectAccel, type Accel } from './qemu/index.js';

export { startNodeController, type NodeController, type NodeControllerConfig } from './service.js';
export { buildGuestImage, type GuestImage, type GuestImageOptions, type BuildProgress } from './image/index.js';
export type { HypervisorDriver, DriverCapabilities, VmSpec, VmInfo } from './driver/index.js';
export { FakeDriver, FakeHost } from './fake/index.js';
export { QemuDriver } from './qemu/index.js';
export { OUTSIDE_CLIENT_IP, OUTSIDE_NODE_IP } from './net/node-network.js';

export interface DriverChoice {
  kind: 'qemu' | 'fake';
  /** The cloud's data directory (the QEMU driver keeps VM state in `<dataDir>/nc/vms`). */
  dataDir: string;
  /** A guest kernel to try KVM with (the default image's); without it, TCG unless EUCA_ACCEL=kvm. */
  probeKernel?: string;
  accel?: Accel;
}

/** Builds the hypervisor driver; for QEMU, KVM is used only when a guest kernel was seen running under it. */
export async function createHypervisorDriver(c: DriverChoice): Promise<HypervisorDriver> {
  if (c.kind === 'fake') return new FakeDriver();
  const dir = join(c.dataDir, 'nc');
  await fs.mkdir(dir, { recursive: true });
  let accel = c.accel;
  const memo = join(dir, 'accel.json');
  if (!accel && existsSync(memo)) accel = (JSON.parse(await fs.readFile(memo, 'utf8')) as { accel: Accel }).accel;
  if (!accel) {
    const d = c.probeKernel ? await detectAccel(c.probeKernel) : { accel: (process.env.EUCA_ACCEL === 'kvm' ? 'kvm' : 'tcg') as Accel, why: 'no kernel to probe with' };
    accel = d.accel;
    await fs.writeFile(memo, JSON.stringify({ ...d, at: new Date().toISOString() }));
  }
  return new QemuDriver({ stateDir: join(dir, 'vms'), accel });
}
