/**
 * @module nc/driver/conformance
 * One test suite for every HypervisorDriver (the contract in driver.ts). A driver's test file calls
 * `runDriverConformance('qemu', async () => harness)`; the harness gives drivers over one persistent state (a second
 * `driver()` call is an NC restart) and specs that boot on it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VmExistsError, VmNotFoundError, VmStateError, type DiskAttachment, type HypervisorDriver, type VmEvent, type VmSpec,
} from './driver.js';

export interface ConformanceHarness {
  /** A new driver object over the same persistent state; called again to simulate an NC restart. */
  driver(): HypervisorDriver;
  /** A spec that boots on this driver, for a fresh id. */
  spec(id: string): VmSpec;
  /** A spec whose spawn must fail (e.g. a kernel that does not exist). */
  badSpec(id: string): VmSpec;
  /** What is left of VM `id` on the host (files, processes); must be empty after destroy or a failed spawn. */
  leftovers(id: string): Promise<string[]>;
  /** Kills the VM's hypervisor process behind the driver's back (crash), when the driver has one. */
  crash?(id: string): Promise<void>;
  /** A disk to hot-plug, when the driver supports it. */
  disk?(id: string): DiskAttachment;
  /** True once the guest OS is up far enough to handle ACPI events (hot-unplug); absent = always. */
  booted?(id: string, d: HypervisorDriver): Promise<boolean>;
  /** How long a graceful stop may take before the driver forces it. */
  stopTimeoutMs: number;
  /** How long to wait for the first console bytes / events. */
  waitMs: number;
  cleanup(): Promise<void>;
}

let seq = 0;
function newId(): string {
  return `i-${(Date.now() % 0xffffffff).toString(16).padStart(8, '0')}${(++seq).toString(16).padStart(4, '0')}`;
}

async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function runDriverConformance(name: string, setup: () => Promise<ConformanceHarness>, opts: { skip?: string | false } = {}): void {
  describe(`HypervisorDriver conformance: ${name}`, { skip: opts.skip ?? false }, () => {
    let h: ConformanceHarness;
    let d: HypervisorDriver;
    const created: string[] = [];
    const fresh = () => {
      const id = newId();
      created.push(id);
      return id;
    };

    before(async () => {
      h = await setup();
      d = h.driver();
    });
    after(async () => {
      if (!h) return;
      for (const id of created) await d.destroy(id).catch(() => undefined);
      await d.close();
      await h.cleanup();
    });

    it('declares its capabilities', () => {
      const c = d.capabilities();
      assert.equal(typeof c.hypervisor, 'string');
      for (const k of ['stopStart', 'diskHotplug', 'adopt', 'console'] as const) assert.equal(typeof c[k], 'boolean');
    });

    it('operations on an unknown VM: VmNotFoundError, and destroy succeeds', async () => {
      const id = fresh();
      assert.equal(await d.describe(id), undefined);
      await assert.rejects(d.reboot(id), VmNotFoundError);
      await assert.rejects(d.stop(id, { force: true }), VmNotFoundError);
      await assert.rejects(d.start(id), VmNotFoundError);
      await assert.rejects(d.consoleOutput(id), VmNotFoundError);
      await d.destroy(id);
      await d.destroy(id);
    });

    it('a failed spawn leaves nothing behind', async () => {
      const id = fresh();
      await assert.rejects(d.spawn(h.badSpec(id)));
      assert.equal(await d.describe(id), undefined);
      assert.deepEqual(await h.leftovers(id), []);
      assert.ok(!(await d.list()).some((v) => v.id === id));
    });

    it('lifecycle: spawn, console, reboot, stop, start, destroy (idempotent)', async () => {
      const id = fresh();
      const events: VmEvent[] = [];
      const off = d.onEvent((e) => e.id === id && events.push(e));
      try {
        const spec = h.spec(id);
        const v = await d.spawn(spec);
        assert.equal(v.id, id);
        assert.equal(v.power, 'running');
        assert.equal(v.bootCount, 1);
        await assert.rejects(d.spawn(spec), VmExistsError);
        assert.ok((await d.list()).some((x) => x.id === id && x.power === 'running'));
        await assert.rejects(d.start(id), VmStateError);
        await waitFor('console output', h.waitMs, async () => (await d.consoleOutput(id)).length > 0);

        await d.reboot(id);
        assert.equal((await d.describe(id))?.bootCount, 2);
        await waitFor('rebooted event', h.waitMs, async () => events.some((e) => e.type === 'rebooted'));

        if (d.capabilities().stopStart) {
          await d.stop(id, { timeoutMs: h.stopTimeoutMs });
          const s = await d.describe(id);
          assert.equal(s?.power, 'stopped');
          assert.equal(s?.stopReason, 'stop');
          await assert.rejects(d.reboot(id), VmStateError);
          await assert.rejects(d.stop(id), VmStateError);
          const before = (await d.consoleOutput(id)).length;
          assert.ok(before > 0, 'console kept while stopped');
          const r = await d.start(id);
          assert.equal(r.power, 'running');
          assert.equal(r.bootCount, 3);
          await waitFor('console output after start', h.waitMs, async () => (await d.consoleOutput(id)).length > before);
        }
        const tail = await d.consoleOutput(id, 10);
        assert.ok(tail.length <= 10);

        await d.destroy(id);
        assert.equal(await d.describe(id), undefined);
        assert.deepEqual(await h.leftovers(id), []);
        await d.destroy(id);
      } finally {
        off();
      }
    });

    it('VMs outlive the driver: a new driver adopts them and can destroy them', async () => {
      const id = fresh();
      await d.spawn(h.spec(id));
      await d.close();
      d = h.driver();
      const adopted = await d.adopt();
      const v = adopted.find((x) => x.id === id);
      assert.ok(v, 'adopted');
      assert.equal(v.power, 'running');
      assert.equal((await d.describe(id))?.power, 'running');
      await d.reboot(id);
      await d.destroy(id);
      assert.deepEqual(await h.leftovers(id), []);
    });

    it('a crashed VM becomes stopped with reason crashed', async (t) => {
      if (!h.crash) return t.skip('harness cannot crash VMs');
      const id = fresh();
      const events: VmEvent[] = [];
      const off = d.onEvent((e) => e.id === id && events.push(e));
      try {
        await d.spawn(h.spec(id));
        await h.crash(id);
        await waitFor('stopped event', h.waitMs, async () => events.find((e) => e.type === 'stopped'));
        assert.deepEqual(events.find((e) => e.type === 'stopped'), { type: 'stopped', id, reason: 'crashed' });
        assert.equal((await d.describe(id))?.power, 'stopped');
        await d.destroy(id);
        assert.deepEqual(await h.leftovers(id), []);
      } finally {
        off();
      }
    });

    it('disk hot-plug: attach and detach', async (t) => {
      if (!d.capabilities().diskHotplug || !h.disk) return t.skip('no disk hot-plug');
      const id = fresh();
      await d.spawn(h.spec(id));
      if (h.booted) await waitFor('guest boot', h.waitMs, () => h.booted!(id, d));
      const disk = h.disk(id);
      await d.attachDisk(id, disk);
      assert.deepEqual((await d.describe(id))?.disks, [disk.id]);
      await assert.rejects(d.attachDisk(id, disk));
      await d.detachDisk(id, disk.id, { timeoutMs: h.waitMs });
      assert.deepEqual((await d.describe(id))?.disks, []);
      await d.destroy(id);
    });
  });
}
