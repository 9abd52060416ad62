import { runDriverConformance } from '../driver/conformance.js';
import { FakeDriver, FakeHost } from './index.js';

runDriverConformance('fake', async () => {
  const host = new FakeHost();
  return {
    driver: () => new FakeDriver({ host }),
    spec: (id) => ({ id, cores: 1, memoryMiB: 128, kernel: '/fake/vmlinuz', nics: [] }),
    badSpec: (id) => ({ id, cores: 1, memoryMiB: 128, nics: [] }),
    leftovers: async (id) => (host.vms.has(id) ? [`vm ${id}`] : []),
    crash: async (id) => host.crash(id),
    disk: (id) => ({ id: 'vol-00000001', serial: 'vol-00000001', source: { kind: 'file', path: `/fake/${id}.qcow2`, format: 'qcow2' } }),
    stopTimeoutMs: 1000,
    waitMs: 1000,
    cleanup: async () => undefined,
  };
});
