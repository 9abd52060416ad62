// test-all: database-independent (real VMs, no database): runs once, on the SQLite pass.
// Real VMs under QEMU (TCG) through a node controller running as its own process, in network namespaces.
// boot → DHCP → metadata → user-data and host key on the console → SSH from the outside namespace → reboot →
// stop/start (root disk kept) → kill -9 of the NC, restart, re-adoption → terminate (QEMU, tap, files gone);
// then three instances at once (EMI triple, ramdisk only, whole-disk image) with distinct addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ncClient, type NcClient, type RunInstanceRequest } from '../rpc/index.js';
import { pidsWith, sshFrom, startNcProcess, testGuestImage, uniqueNet, vmTestSkipReason, waitFor, type NcProcessInfo } from './test-support.js';
import { tapName } from './net/plan.js';
import type { GuestImage } from './image/index.js';

const skip = vmTestSkipReason();
const BOOT_MS = 180_000;

let n = 0;
function iid(): string {
  return `i-${(Date.now() & 0xffffffff).toString(16).padStart(8, '0')}${(++n).toString(16).padStart(9, '0')}`;
}

function runReq(img: GuestImage, pubKey: string, kind: 'triple' | 'ramdisk' | 'disk', userData?: string): RunInstanceRequest {
  const boot: RunInstanceRequest['boot'] =
    kind === 'disk' ? { imageId: 'emi-d15c0001', root: { id: 'emi-d15c0001', path: img.diskQcow2!, format: 'qcow2' } }
    : kind === 'ramdisk' ? { imageId: 'emi-4a40d001', kernel: { id: 'eki-00000001', path: img.kernel }, ramdisk: { id: 'eri-00000001', path: img.ramdisk } }
    : { imageId: 'emi-000000e1', root: { id: 'emi-000000e1', path: img.rootfs, format: 'raw' }, kernel: { id: 'eki-00000001', path: img.kernel }, ramdisk: { id: 'eri-00000001', path: img.ramdisk } };
  return {
    instanceId: iid(), reservationId: 'r-00000000000000001', ownerId: '123456789012',
    instanceType: { name: 't1.micro', cores: 1, memoryMiB: 128, diskGiB: 0 }, boot,
    metadata: { availabilityZone: 'zone-1', keyName: 'k', publicKey: pubKey, ...(userData ? { userData: Buffer.from(userData).toString('base64') } : {}) },
  };
}

async function consoleText(c: NcClient, id: string): Promise<string> {
  return Buffer.from((await c.getConsoleOutput({ instanceId: id })).output, 'base64').toString('utf8');
}

const count = (s: string, re: RegExp) => (s.match(new RegExp(re.source, 'g')) ?? []).length;

test('NC with real VMs: lifecycle, SSH, kill -9 re-adoption, three at once', { skip, timeout: 900_000 }, async (t) => {
  const img = await testGuestImage();
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-ncvm-'));
  const net = uniqueNet();
  const key = join(dataDir, 'key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nc-vm-test', '-f', key]);
  const pub = readFileSync(key + '.pub', 'utf8').trim();
  const cfg = { dataDir, port: 0, driver: 'qemu', accel: 'tcg', network: { ...net }, resources: { cores: 16, memoryMiB: 4096 }, zone: 'zone-1' };
  let nc = await startNcProcess(cfg);
  let info: NcProcessInfo = nc.info;
  let c = ncClient(info.url);
  const ids: string[] = [];
  try {
    await t.test('boot, metadata, user-data, host key, SSH from outside', async () => {
      const ud = '#!/bin/sh\necho "USERDATA-RAN on $(hostname) ip=$(ip -4 -o addr show eth0 | awk \'{print $4}\')"\necho persisted > /root/mark\n';
      const r = runReq(img, pub, 'triple', ud);
      ids.push(r.instanceId);
      const run = await c.runInstance(r);
      assert.equal(run.instance.state, 'pending');
      const ip = run.instance.privateIp;
      const up = await waitFor('running', 120_000, async () => {
        const i = (await c.describeInstances({ instanceIds: [r.instanceId] })).instances[0];
        return i?.state === 'running' || i?.state === 'terminated' ? i : undefined;
      });
      assert.equal(up.state, 'running', JSON.stringify(up.stateReason));
      const con = await waitFor('guest ready', BOOT_MS, async () => {
        const s = await consoleText(c, r.instanceId);
        return s.includes('CLOUD: ready') ? s : undefined;
      });
      assert.match(con, new RegExp(`CLOUD: dhcp bound ip=${ip.replace(/\./g, '\\.')}`));
      assert.match(con, new RegExp(`metadata instance-id=${r.instanceId}`));
      assert.match(con, new RegExp(`metadata local-ipv4=${ip.replace(/\./g, '\\.')}`));
      assert.ok(con.includes(`ssh key installed: ${pub}`), 'public key in console');
      assert.match(con, new RegExp(`USERDATA-RAN on ${r.instanceId} ip=${ip.replace(/\./g, '\\.')}/24`));
      assert.match(con, /-----BEGIN SSH HOST KEY FINGERPRINTS-----\r?\n.*SHA256:\S+/);
      const out = await waitFor('ssh', 180_000, () => sshFrom(info.outsideNetns!, ip, key, 'hostname; cat /root/mark; ls /sys/block'));
      assert.match(out, new RegExp(`^${r.instanceId}\npersisted\n`));
      // the metadata service answers the guest (IMDS via the DNAT), and 404 for unknown paths
      const md = await sshFrom(info.outsideNetns!, ip, key, 'wget -q -O - http://169.254.169.254/latest/meta-data/placement/availability-zone; echo; wget -q -O - http://169.254.169.254/latest/meta-data/nope 2>&1 || echo status-$?');
      assert.match(md, /^zone-1\n/);
      assert.match(md, /404|status-1/);
    });

    await t.test('reboot, stop/start keeping the root disk', async () => {
      const id = ids[0]!;
      const r = await c.rebootInstance({ instanceId: id });
      assert.equal(r.instance.bootCount, 2);
      await waitFor('second boot ready', BOOT_MS, async () => count(await consoleText(c, id), /CLOUD: ready/) >= 2);
      const st = await c.stopInstance({ instanceId: id, timeoutMs: 30_000 });
      assert.equal(st.instance.state, 'stopped');
      assert.equal(pidsWith(`guest=${id},`).length, 0, 'no QEMU while stopped');
      const s = await c.startInstance({ instanceId: id });
      assert.equal(s.instance.state, 'running');
      await waitFor('third boot ready', BOOT_MS, async () => count(await consoleText(c, id), /CLOUD: ready/) >= 3);
      const ip = s.instance.privateIp;
      assert.match(await waitFor('ssh after start', 180_000, () => sshFrom(info.outsideNetns!, ip, key, 'cat /root/mark')), /^persisted/);
    });

    await t.test('kill -9 of the NC: VMs keep running, are re-adopted and terminable', async () => {
      const id = ids[0]!;
      const qemu = pidsWith(`guest=${id},`);
      assert.equal(qemu.length, 1);
      nc.child.kill('SIGKILL');
      await nc.exited;
      assert.deepEqual(pidsWith(`guest=${id},`), qemu, 'QEMU survived the NC');
      nc = await startNcProcess(cfg);
      info = nc.info;
      c = ncClient(info.url);
      const d = (await c.describeInstances({ instanceIds: [id] })).instances[0];
      assert.equal(d?.state, 'running');
      assert.equal(d?.bootCount, 3);
      assert.match(await sshFrom(info.outsideNetns!, d.privateIp, key, 'hostname'), new RegExp(id));
      // the re-adopted VM still answers QMP: reboot works
      await c.rebootInstance({ instanceId: id });
      const term = await c.terminateInstance({ instanceId: id });
      assert.equal(term.instance.state, 'terminated');
      assert.deepEqual(pidsWith(`guest=${id},`), [], 'QEMU gone');
      assert.equal(existsSync(join(dataDir, 'nc', 'vms', id)), false, 'files gone');
      assert.equal(existsSync(join(dataDir, 'nc', 'instances', `${id}.json`)), false, 'state file gone');
      assert.throws(() => execFileSync('ip', ['-n', info.netns!, 'link', 'show', tapName(id)], { stdio: 'ignore' }), 'tap gone');
    });

    await t.test('three instances at once (EMI triple, ramdisk only, whole disk): distinct IPs, all boot', async () => {
      const reqs = (['triple', 'ramdisk', 'disk'] as const).map((k) => runReq(img, pub, k));
      const runs = await Promise.all(reqs.map((r) => c.runInstance(r)));
      ids.push(...reqs.map((r) => r.instanceId));
      const ips = runs.map((r) => r.instance.privateIp);
      assert.equal(new Set(ips).size, 3);
      try {
        await Promise.all(reqs.map((r, i) => waitFor(`ready ${r.instanceId}`, BOOT_MS * 2, async () => {
          const s = await consoleText(c, r.instanceId);
          return s.includes('CLOUD: ready') && s.includes(`ip=${ips[i]}`);
        }, 1000)));
      } catch (e) {
        const states = (await c.describeInstances({ instanceIds: reqs.map((r) => r.instanceId) })).instances.map((i) => `${i.instanceId} ${i.state} ${i.privateIp}`);
        const cons = await Promise.all(reqs.map(async (r) => `--- ${r.instanceId}\n${(await consoleText(c, r.instanceId).catch(() => '')).slice(-1500)}`));
        throw new Error(`${(e as Error).message}\n${states.join('\n')}\n${cons.join('\n')}`);
      }
      const disk = await consoleText(c, reqs[2]!.instanceId);
      assert.match(disk, /switch_root to \/dev\/vda2/, 'the whole-disk image booted through syslinux');
      for (const [i, r] of reqs.entries()) {
        assert.match(await waitFor('ssh', 180_000, () => sshFrom(info.outsideNetns!, ips[i]!, key, 'hostname')), new RegExp(r.instanceId));
      }
      for (const r of reqs) assert.equal((await c.terminateInstance({ instanceId: r.instanceId })).instance.state, 'terminated');
      for (const r of reqs) assert.deepEqual(pidsWith(`guest=${r.instanceId},`), []);
    });
  } finally {
    for (const id of ids) await c.terminateInstance({ instanceId: id }).catch(() => undefined);
    nc.child.kill('SIGTERM');
    await nc.exited;
    // the network outlives the NC process by design; remove it by the names we gave it
    for (const pid of [...pidsWith(net.netns), ...pidsWith(join(dataDir, 'nc'))]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of [net.outsideNetns, net.netns]) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
