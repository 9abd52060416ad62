// test-all: database-independent (real VMs, no database): runs once, on the SQLite pass.
// A stock Debian cloud-init guest (built offline from apt-get download, see image/cloudinit.ts) booted by the NC:
// cloud-init's EC2 datasource reads meta-data and user-data from our metadata service and runs the user-data.
// It downloads ~110 packages (~50 MB) from Debian once (cached in the build directory) and Python under TCG boots
// slowly (about 6 minutes in all on a loaded 2-core machine); EUCA_TEST_CLOUDINIT=0 skips it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ncClient } from '../rpc/index.js';
import { buildCloudInitImage } from './image/cloudinit.js';
import { pidsWith, startNcProcess, testGuestImage, uniqueNet, vmTestSkipReason, waitFor } from './test-support.js';

const skip = vmTestSkipReason() || (process.env.EUCA_TEST_CLOUDINIT === '0' ? 'EUCA_TEST_CLOUDINIT=0' : false);

test('cloud-init (EC2 datasource) runs user-data served by our metadata service', { skip, timeout: 1_200_000 }, async () => {
  const img = await testGuestImage();
  const ci = await buildCloudInitImage({ outDir: process.env.EUCA_TEST_CLOUDINIT_DIR ?? join(tmpdir(), 'euca-ts-cloudinit-image'), base: img });
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-ci-'));
  const net = uniqueNet();
  const nc = await startNcProcess({ dataDir, port: 0, driver: 'qemu', accel: 'tcg', network: { ...net, outsideNetns: false } });
  const c = ncClient(nc.info.url);
  const id = `i-c10d${Date.now().toString(16).slice(-12)}`;
  try {
    await c.runInstance({
      instanceId: id, reservationId: 'r-00000000000000001', ownerId: '123456789012', instanceType: { name: 'm1.small', cores: 1, memoryMiB: 512, diskGiB: 0 },
      boot: { imageId: 'emi-c10d0001', root: { id: 'emi-c10d0001', path: ci.rootfs, format: 'raw' }, kernel: { id: 'eki-00000001', path: img.kernel }, ramdisk: { id: 'eri-00000001', path: img.ramdisk } },
      metadata: { availabilityZone: 'zone-1', userData: Buffer.from('#!/bin/sh\necho "CLOUDINIT-USERDATA-OK id=$(cat /var/lib/cloud/data/instance-id) host=$(hostname)"\n').toString('base64') },
    });
    const con = await waitFor('cloud-init done', 900_000, async () => {
      const s = Buffer.from((await c.getConsoleOutput({ instanceId: id })).output, 'base64').toString();
      return s.includes('CLOUD: cloud-init done') ? s : undefined;
    }, 2000);
    assert.match(con, new RegExp(`CLOUDINIT-USERDATA-OK id=${id}`), con.slice(-3000));
    assert.match(con, /CLOUD-INIT: finished v\d+\.\S+ datasource DataSourceEc2/);
  } finally {
    await c.terminateInstance({ instanceId: id }).catch(() => undefined);
    nc.child.kill('SIGTERM');
    await nc.exited;
    for (const pid of pidsWith(join(dataDir, 'nc'))) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    try { execFileSync('ip', ['netns', 'del', net.netns], { stdio: 'ignore' }); } catch { /* gone */ }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
