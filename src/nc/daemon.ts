/**
 * @module nc/daemon
 * Runs one node controller as its own process: `node --import tsx src/nc/daemon.ts '<json config>'`.
 * The config is NodeControllerConfig without the driver, plus `driver: 'qemu' | 'fake'`, `accel` and `probeKernel`.
 * Prints one JSON line `{ url, port, netns, outsideNetns, subnet, gateway, pid }` when it serves. SIGTERM closes it
 * (VMs keep running); tests use it to `kill -9` a real NC.
 */
import { createHypervisorDriver, startNodeController, type NodeControllerConfig } from './index.js';

type DaemonConfig = Omit<NodeControllerConfig, 'driver' | 'logger'> & { driver?: 'qemu' | 'fake'; accel?: 'kvm' | 'tcg'; probeKernel?: string };

const cfg = JSON.parse(process.argv[2] ?? '{}') as DaemonConfig;
const driver = await createHypervisorDriver({
  kind: cfg.driver ?? 'qemu', dataDir: cfg.dataDir,
  ...(cfg.accel ? { accel: cfg.accel } : {}), ...(cfg.probeKernel ? { probeKernel: cfg.probeKernel } : {}),
});
const { driver: _d, accel: _a, probeKernel: _p, ...rest } = cfg;
const nc = await startNodeController({ ...rest, driver });
process.stdout.write(JSON.stringify({ url: nc.url, port: nc.port, netns: nc.netns, outsideNetns: nc.outsideNetns, subnet: nc.subnet, gateway: nc.gateway, pid: process.pid }) + '\n');
process.once('SIGTERM', () => {
  void nc.close().then(() => process.exit(0));
});
