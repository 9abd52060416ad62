// test-all: database-independent (real VMs, no database): runs once, on the SQLite pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runDriverConformance } from '../driver/conformance.js';
import { vmTestSkipReason, testGuestImage } from '../test-support.js';
import { buildQemuCommand, vmMarker } from './argv.js';
import { QemuDriver } from './qemu-driver.js';
import { osProcessRunner } from './process.js';

test('argv: direct kernel boot with root overlay, tap in a namespace (exact)', () => {
  const cmd = buildQemuCommand(
    { id: 'i-00000001', cores: 1, memoryMiB: 128, kernel: '/img/vmlinuz', ramdisk: '/img/initrd.gz', root: { path: '/img/root.raw', format: 'raw' }, nics: [{ mac: '52:54:00:00:00:01', tap: 'tap1', netns: 'ns1' }] },
    { console: '/s/console.log', qmp: '/s/qmp.sock', rootOverlay: '/s/root.qcow2' },
    'tcg',
  );
  assert.deepEqual(cmd, {
    cmd: 'ip',
    args: ['netns', 'exec', 'ns1', 'qemu-system-x86_64', '-name', 'guest=i-00000001,debug-threads=on',
      '-accel', 'tcg,thread=multi,tb-size=32', '-cpu', 'max', '-machine', 'pc', '-smp', '1', '-m', '128',
      '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none',
      '-kernel', '/img/vmlinuz', '-initrd', '/img/initrd.gz', '-append', 'console=ttyS0 panic=-1 loglevel=4 root=/dev/vda',
      '-chardev', 'file,id=con0,path=/s/console.log,append=on', '-serial', 'chardev:con0',
      '-netdev', 'tap,id=net0,ifname=tap1,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01,id=nic0,romfile=',
      '-blockdev', 'driver=qcow2,node-name=root0,file.driver=file,file.filename=/s/root.qcow2', '-device', 'virtio-blk-pci,drive=root0,id=rootdisk',
      '-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0',
      '-qmp', 'unix:/s/qmp.sock,server=on,wait=off'],
  });
  const kvm = buildQemuCommand({ id: 'i-00000002', cores: 2, memoryMiB: 256, root: { path: '/d.qcow2', format: 'qcow2' }, nics: [] }, { console: '/c', qmp: '/q', rootOverlay: '/o' }, 'kvm');
  assert.equal(kvm.cmd, 'qemu-system-x86_64');
  assert.ok(kvm.args.includes('host') && !kvm.args.includes('-kernel'));
  assert.ok(kvm.args.includes('virtio-blk-pci,drive=root0,id=rootdisk,bootindex=0'), 'disk boot without a kernel');
});

const skip = vmTestSkipReason();
runDriverConformance('qemu', async () => {
  const img = await testGuestImage();
  const stateDir = await fs.mkdtemp(join(tmpdir(), 'euca-qemu-conf-'));
  const junk = join(stateDir, 'not-a-kernel');
  await fs.writeFile(junk, 'this is not a kernel\n');
  return {
    driver: () => new QemuDriver({ stateDir: join(stateDir, 'vms'), accel: 'tcg' }),
    spec: (id) => ({ id, cores: 1, memoryMiB: 128, kernel: img.kernel, ramdisk: img.ramdisk, cmdline: img.cmdline, nics: [] }),
    badSpec: (id) => ({ id, cores: 1, memoryMiB: 128, kernel: junk, nics: [] }),
    leftovers: async (id) => {
      const out: string[] = [];
      try {
        await fs.access(join(stateDir, 'vms', id));
        out.push(`dir ${id}`);
      } catch { /* gone */ }
      const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
      for (const line of ps.split('\n')) if (line.includes(vmMarker(id)) && !line.includes('ps -eo')) {
        const pid = Number(line.trim().split(' ')[0]);
        if (osProcessRunner.isOurs(pid, vmMarker(id))) out.push(`process ${line.trim()}`);
      }
      return out;
    },
    crash: async (id) => {
      const vm = JSON.parse(await fs.readFile(join(stateDir, 'vms', id, 'vm.json'), 'utf8')) as { pid: number };
      process.kill(vm.pid, 'SIGKILL');
    },
    disk: (id) => {
      const p = join(stateDir, `${id}-vol.qcow2`);
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', p, '64M']);
      return { id: 'vol-0000abcd', serial: 'vol-0000abcd', source: { kind: 'file', path: p, format: 'qcow2' } };
    },
    booted: async (id, d) => (await d.consoleOutput(id)).includes('CLOUD: eth0 up'),
    stopTimeoutMs: 20_000,
    waitMs: 60_000,
    cleanup: async () => fs.rm(stateDir, { recursive: true, force: true }),
  };
}, { skip });
