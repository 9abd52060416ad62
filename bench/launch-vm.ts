/**
 * Launch latency of real VMs (TCG), against raw QEMU booting the same kernel and initrd, measured in the same run,
 * two ways: the node controller's RunInstance alone, and the whole cloud — EC2 RunInstances from the SDK v3 through
 * the gateway, the CLC (record), the CC (reserve, dispatch) to the same NC (the instance's console file is watched):
 *   single: time to the guest's userspace marker (`CLOUD: userspace`, printed by /init), N sequential launches, p50
 *   burst:  10 launched at once, time until all 10 printed the marker
 *   density (--density N): N idle 128 MiB instances, QEMU RSS, NC (control-plane) memory per instance, idle CPU
 * Run as root:  node --expose-gc --import tsx bench/launch-vm.ts [--runs 5] [--burst 10] [--density 60]
 * Everything runs inside namespaces this script creates, and is removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { createHypervisorDriver, startNodeController, type NodeController } from '../src/nc/index.js';
import { startTestCloud, type TestCloud } from '../src/main/testing.js';
import { internalSecret, registerDefaultImage } from '../src/main/compute.js';
import { testGuestImage, uniqueNet, pidsWith } from '../src/nc/test-support.js';
import { silentLogger } from '../src/shared/index.js';
import type { GuestImage } from '../src/nc/image/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 5);
const BURST = arg('burst', 10);
const DENSITY = arg('density', 0);
const MARKER = 'CLOUD: userspace';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function waitMarker(file: string, marker: string, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(marker)) return Date.now();
    await sleep(20);
  }
  throw new Error(`no "${marker}" in ${file} after ${timeoutMs} ms`);
}

/** Raw QEMU: the same kernel + initrd, same accelerator options as the driver, console to a file. */
async function rawBoot(img: GuestImage, dir: string, n: number): Promise<number[]> {
  const t0 = Date.now();
  const procs = Array.from({ length: n }, (_, i) => {
    const con = join(dir, `raw-${Date.now()}-${i}.console`);
    const p = spawn('qemu-system-x86_64', ['-accel', 'tcg,thread=multi,tb-size=32', '-cpu', 'max', '-machine', 'pc', '-smp', '1', '-m', '128',
      '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none', '-kernel', img.kernel, '-initrd', img.ramdisk,
      '-append', img.cmdline, '-chardev', `file,id=c,path=${con}`, '-serial', 'chardev:c'], { stdio: 'ignore' });
    return { p, con };
  });
  try {
    const ts = await Promise.all(procs.map((x) => waitMarker(x.con, MARKER, 600_000)));
    return ts.map((t) => t - t0);
  } finally {
    for (const x of procs) x.p.kill('SIGKILL');
    await Promise.all(procs.map((x) => new Promise((r) => (x.p.exitCode !== null ? r(0) : x.p.once('exit', r)))));
  }
}

let seq = 0;
function iid() {
  return `i-${(0xbe000000 + (Date.now() & 0xffffff)).toString(16)}${(++seq).toString(16).padStart(9, '0')}`;
}

async function ncBoot(nc: NodeController, dataDir: string, img: GuestImage, n: number, marker = MARKER, keep = false): Promise<{ ms: number[]; ids: string[] }> {
  const t0 = Date.now();
  const ids = Array.from({ length: n }, () => iid());
  await Promise.all(ids.map((instanceId) => nc.api.RunInstance({
    instanceId, reservationId: 'r-00000000000000001', ownerId: '123456789012',
    instanceType: { name: 't1.micro', cores: 1, memoryMiB: 128, diskGiB: 0 },
    boot: { imageId: 'emi-00000001', kernel: { id: 'eki-00000001', path: img.kernel }, ramdisk: { id: 'eri-00000001', path: img.ramdisk } },
    metadata: { availabilityZone: 'bench' },
  })));
  const ms = await Promise.all(ids.map(async (id) => (await waitMarker(join(dataDir, 'nc', 'vms', id, 'console.log'), marker, 1_200_000)) - t0));
  if (!keep) for (const id of ids) await nc.api.TerminateInstance({ instanceId: id });
  return { ms, ids };
}

/** The whole cloud: EC2 RunInstances (SDK) → gateway → CLC → CC → NC; the clock starts before the call is sent. */
async function ec2Boot(ec2: EC2Client, imageId: string, dataDir: string, n: number): Promise<number[]> {
  const t0 = Date.now();
  const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't1.micro', MinCount: n, MaxCount: n }));
  const ids = (r.Instances ?? []).map((i) => i.InstanceId!);
  const ms = await Promise.all(ids.map(async (id) => (await waitMarker(join(dataDir, 'nc', 'vms', id, 'console.log'), MARKER, 1_200_000)) - t0));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  return ms;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
function cpuTicks(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

async function main() {
  const img = await testGuestImage();
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-bench-vm-'));
  const net = uniqueNet('euca-b');
  const driver = await createHypervisorDriver({ kind: 'qemu', dataDir, accel: 'tcg' });
  const cloud: TestCloud = await startTestCloud();
  const zone = cloud.config.zones[0]!;
  const nc = await startNodeController({ dataDir, port: 0, driver, network: { netns: net.netns, subnet: '10.90.0.0/24', outsideNetns: false }, resources: { cores: 512, memoryMiB: 20480 }, logger: silentLogger(), secret: internalSecret(cloud.config.dataDir), zone });
  await cloud.compute.clusters.get(zone)!.controller.registerNode(nc.url);
  const { imageId } = await registerDefaultImage(cloud.compute.service, cloud.admin.accountId, img);
  const ec2 = new EC2Client(cloud.clientConfig('ec2'));
  const out: string[] = [];
  const log = (s: string) => {
    out.push(s);
    console.log(s);
  };
  try {
    log(`launch-vm bench, ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    const raw: number[] = [];
    const viaNc: number[] = [];
    const viaEc2: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // interleaved, so that all three see the same background load
      raw.push(...(await rawBoot(img, dataDir, 1)));
      viaNc.push(...(await ncBoot(nc, dataDir, img, 1)).ms);
      viaEc2.push(...(await ec2Boot(ec2, imageId, dataDir, 1)));
    }
    if (RUNS > 0) {
      log(`single launch to userspace marker, ${RUNS} runs: raw QEMU p50 ${p50(raw)} ms [${raw.join(', ')}]; NC RunInstance p50 ${p50(viaNc)} ms [${viaNc.join(', ')}]; ratio ${(p50(viaNc) / p50(raw)).toFixed(2)}`);
      log(`  EC2 RunInstances (SDK → gateway → CLC → CC → NC) p50 ${p50(viaEc2)} ms [${viaEc2.join(', ')}]; ratio to raw ${(p50(viaEc2) / p50(raw)).toFixed(2)}`);
    }
    if (BURST > 0) {
      const rawB = Math.max(...(await rawBoot(img, dataDir, BURST)));
      const ncB = Math.max(...(await ncBoot(nc, dataDir, img, BURST)).ms);
      const ec2B = Math.max(...(await ec2Boot(ec2, imageId, dataDir, BURST)));
      log(`${BURST} at once, all in userspace: raw QEMU ${rawB} ms; NC ${ncB} ms (ratio ${(ncB / rawB).toFixed(2)}); EC2 RunInstances --count ${BURST} ${ec2B} ms (ratio ${(ec2B / rawB).toFixed(2)})`);
    }
    if (DENSITY > 0) {
      // the process holds the whole control plane (gateway, CLC, CC, NC): compare its live memory before and after,
      // collected first when run with --expose-gc (garbage from the setup would otherwise hide the growth)
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const rss0 = rssKiB(process.pid);
      const live = () => { const m = process.memoryUsage(); return (m.heapUsed + m.external) / 1024; };
      const live0 = live();
      const t0 = Date.now();
      const { ids, ms } = await ncBoot(nc, dataDir, img, DENSITY, 'CLOUD: ready', true);
      const allUp = Math.max(...ms);
      await sleep(5000);
      const qemuPids = ids.flatMap((id) => pidsWith(`guest=${id},`));
      const qemuRss = qemuPids.reduce((a, p) => a + rssKiB(p), 0);
      gc?.();
      const ncRss = rssKiB(process.pid);
      const live1 = live();
      const c0 = qemuPids.reduce((a, p) => a + cpuTicks(p), 0);
      await sleep(10_000);
      const c1 = qemuPids.reduce((a, p) => a + cpuTicks(p), 0);
      const idlePct = ((c1 - c0) / 100 / 10 / qemuPids.length) * 100;
      const states = (await nc.api.DescribeInstances({})).instances.filter((i) => i.state === 'running').length;
      log(`density: ${DENSITY} idle 128 MiB instances launched at once, all 'ready' (DHCP, metadata, sshd) after ${allUp} ms (${Date.now() - t0} ms incl. settle); running ${states}; QEMU processes ${qemuPids.length}; QEMU RSS total ${(qemuRss / 1024).toFixed(0)} MiB (${(qemuRss / 1024 / qemuPids.length).toFixed(0)} MiB each); control-plane process RSS (gateway, CLC, CC, NC${gc ? ', after a GC' : ''}) ${(rss0 / 1024).toFixed(0)} → ${(ncRss / 1024).toFixed(0)} MiB (${((ncRss - rss0) / 1024 / DENSITY).toFixed(2)} MiB per instance; RSS also falls as the allocator returns setup memory); live JS heap + external ${(live0 / 1024).toFixed(0)} → ${(live1 / 1024).toFixed(0)} MiB (${((live1 - live0) / 1024 / DENSITY).toFixed(3)} MiB per instance); idle CPU ${idlePct.toFixed(2)} % of a core per guest`);
      for (const id of ids) await nc.api.TerminateInstance({ instanceId: id });
    }
  } finally {
    ec2.destroy();
    await nc.destroy();
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log('\n' + out.join('\n'));
}

await main();
