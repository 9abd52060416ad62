import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelPackageFrom, mbrPartitionTable, moduleDepends, orderModules, parseAptDepends, parseLdd } from './plan.js';

test('apt-cache depends: first alternative of each group, virtual packages skipped', () => {
  const out = `cloud-init\n  Depends: eject\n |Depends: fdisk\n  Depends: util-linux\n  Depends: <python3:any>\n    python3\n  Recommends: sudo\n`;
  assert.deepEqual(parseAptDepends(out), ['eject', 'fdisk']);
  assert.equal(kernelPackageFrom('linux-image-cloud-amd64\n  Depends: linux-image-6.12.48+deb13-cloud-amd64\n'), 'linux-image-6.12.48+deb13-cloud-amd64');
  assert.throws(() => kernelPackageFrom('x\n  Depends: libc6\n'));
});

test('ldd output: resolved paths, and a missing library is an error', () => {
  const out = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibz.so.1 => /x/lib/libz.so.1 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n';
  assert.deepEqual(parseLdd(out), ['/x/lib/libz.so.1']);
  assert.throws(() => parseLdd('\tlibgmp.so.10 => not found\n'), /libgmp/);
});

test('module dependencies are read from modinfo and ordered dependencies first', () => {
  assert.deepEqual(moduleDepends(Buffer.from('\0license=GPL\0depends=virtio_ring,virtio-pci-modern-dev\0')), ['virtio_ring', 'virtio_pci_modern_dev']);
  const deps = new Map([
    ['virtio_net', ['net_failover', 'virtio_ring', 'virtio']],
    ['net_failover', ['failover']],
    ['failover', []],
    ['virtio_ring', []],
    ['virtio', ['virtio_ring']],
  ]);
  const order = orderModules(['virtio_net', 'button'], deps); // button: built in (absent from deps)
  assert.equal(order.at(-1), 'virtio_net');
  for (const [m, ds] of deps) for (const d of ds) assert.ok(order.indexOf(d) < order.indexOf(m), `${d} before ${m}`);
  assert.throws(() => orderModules(['a'], new Map([['a', ['b']], ['b', ['a']]])), /cycle/);
});

test('MBR partition table: entries, LBA values and signature', () => {
  const t = mbrPartitionTable([
    { startSector: 2048, sectors: 4096, type: 0x0c, bootable: true },
    { startSector: 6144, sectors: 131072, type: 0x83, bootable: false },
  ]);
  assert.equal(t.length, 66);
  assert.equal(t[0], 0x80);
  assert.equal(t[4], 0x0c);
  assert.equal(t.readUInt32LE(8), 2048);
  assert.equal(t.readUInt32LE(12), 4096);
  assert.equal(t[16], 0);
  assert.equal(t[20], 0x83);
  assert.equal(t.readUInt32LE(24), 6144);
  assert.deepEqual([t[64], t[65]], [0x55, 0xaa]);
});
