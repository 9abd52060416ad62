/**
 * bench/launch-control: the control-plane side of launching, on the fake hypervisor driver (real NC service, real CC,
 * real CLC and gateway, SDK v3 client over loopback):
 * - RunInstances accept-and-record throughput (each call: signature, CC reservation, database record, dispatch to
 *   the node), 16 calls in flight;
 * - DescribeInstances with 10,000 instances: by id, and a filtered 100-item page (database-answered filters), and a
 *   tag-filtered 100-item page (tag filter answered in SQL);
 * next to a reference measured in the same run: signed DescribeRegions (the gateway with a trivial handler).
 *
 * Run: node --import tsx bench/launch-control.ts [--instances 10000] [--calls 1000] [--profile DIR]
 * (--profile writes one CPU profile per measured phase, DIR/<phase>.cpuprofile, for Chrome DevTools or speedscope).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { EC2Client, DescribeRegionsCommand, RunInstancesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { startTestCloud } from '../src/main/testing.js';
import { internalSecret } from '../src/main/compute.js';
import { startNodeController } from '../src/nc/index.js';
import { FakeDriver } from '../src/nc/fake/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const TOTAL = arg('--instances', 10_000);
const CALLS = arg('--calls', 1000);
const CONCURRENCY = 16;
const profileIdx = process.argv.indexOf('--profile');
const PROFILE_DIR = profileIdx > 0 ? process.argv[profileIdx + 1] : undefined;

/** Runs `fn` as one named phase, profiled (whole process) when --profile is given. */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(PROFILE_DIR, { recursive: true });
    writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
/** Process CPU time (user + system, ms) spent by `fn`, per call: the load-insensitive figure. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p90 ${pct(xs, 90).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms`;

/** Waits until every launch was dispatched and reported running (no instance pending). */
async function settle(): Promise<void> {
  await cloud.compute.service.instances.idle();
  for (;;) {
    await cloud.compute.service.reconcile();
    const pending = await cloud.compute.service.instances.list(cloud.admin.accountId, { states: ['pending'] });
    if (pending.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'euca-bench-'));
const cloud = await startTestCloud();
const nc = await startNodeController({
  dataDir: join(dir, 'node'), port: 0, host: '127.0.0.1', nodeId: 'bench-node', secret: internalSecret(cloud.config.dataDir), network: false,
  driver: new FakeDriver(), resources: { cores: TOTAL * 2, memoryMiB: TOTAL * 512, diskGiB: TOTAL * 10 }, zone: cloud.config.zones[0]!,
});
const cc = cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller;
await cc.registerNode(nc.url);
const disk = join(dir, 'disk.img');
writeFileSync(disk, Buffer.alloc(1024 * 1024));
const { imageId } = await cloud.compute.service.images.registerLocal(cloud.admin.accountId, { name: 'bench', kind: 'machine', path: disk, format: 'raw', size: 1024 * 1024 });
const ec2 = new EC2Client(cloud.clientConfig('ec2'));
try {
  const ref = await timed(300, () => ec2.send(new DescribeRegionsCommand({})));
  console.log(`reference: DescribeRegions (signed, gateway, trivial handler): ${fmt(ref)}`);
  let refNext = 0;
  const r0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (refNext < CALLS) {
      refNext++;
      await ec2.send(new DescribeRegionsCommand({}));
    }
  }));
  const refRate = CALLS / ((performance.now() - r0) / 1000);
  console.log(`reference: DescribeRegions throughput, ${CONCURRENCY} in flight: ${refRate.toFixed(0)} calls/s`);

  // RunInstances accept-and-record, 16 in flight
  console.log(`load average before RunInstances: ${load()}`);
  const c0 = cpuMs();
  let next = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await phase('run-instances', () => Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < CALLS) {
      next++;
      const s = performance.now();
      await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: 'm1.small', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: String(next % 10) }] }] }));
      lat.push(performance.now() - s);
    }
  })));
  const secs = (performance.now() - t0) / 1000;
  console.log(`RunInstances accept-and-record: ${CALLS} calls in ${secs.toFixed(1)} s = ${(CALLS / secs).toFixed(0)} calls/s (${CONCURRENCY} in flight; ${((CALLS / secs / refRate) * 100).toFixed(0)} % of the DescribeRegions rate); latency ${fmt(lat)}; CPU ${((cpuMs() - c0) / CALLS).toFixed(2)} ms per call (whole process: client, gateway, CLC, CC, NC); load ${load()}`);

  // the same launches through to running (dispatch to the node, boot on the fake driver, reconciliation)
  await settle();
  const whole = (performance.now() - t0) / 1000;
  console.log(`RunInstances through to running: the ${CALLS} launches all running ${whole.toFixed(1)} s after the first call = ${(CALLS / whole).toFixed(0)} launches/s; CPU ${((cpuMs() - c0) / CALLS).toFixed(2)} ms per launch; load ${load()}`);

  // fill up to TOTAL instances
  let have = CALLS;
  let f0 = performance.now();
  let fc0 = cpuMs();
  let lastReport = have;
  while (have < TOTAL) {
    const n = Math.min(100, TOTAL - have);
    await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: n, MaxCount: n, InstanceType: (have / 100) % 2 ? 'm1.small' : 'c1.medium', TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: String((have / 100) % 10) }] }] }));
    have += n;
    if (have - lastReport >= 1000 || have >= TOTAL) {
      const s = (performance.now() - f0) / 1000;
      console.log(`fill: ${have} instances; last ${have - lastReport} in ${s.toFixed(1)} s (${((have - lastReport) / s).toFixed(0)}/s, CPU ${((cpuMs() - fc0) / (have - lastReport)).toFixed(2)} ms per instance); load ${load()}`);
      lastReport = have;
      f0 = performance.now();
      fc0 = cpuMs();
    }
  }
  // RunInstances answers once recorded; dispatch and boot go on in the background. Let them finish (all running)
  // so that the Describe figures are not measured next to the launch backlog.
  const s0 = performance.now();
  const sc0 = cpuMs();
  await settle();
  const ids = (await cloud.compute.service.instances.list(cloud.admin.accountId, {})).map((i) => i.instanceId);
  const running = (await cloud.compute.service.instances.list(cloud.admin.accountId, { states: ['running'] })).length;
  console.log(`${ids.length} instances recorded, ${running} running; the launch backlog settled ${((performance.now() - s0) / 1000).toFixed(1)} s after the last RunInstances (CPU ${((cpuMs() - sc0) / 1000).toFixed(1)} s)`);

  console.log(`load average before DescribeInstances: ${load()}`);
  let d0 = cpuMs();
  const byId = await phase('describe-by-id', () => timed(300, (i) => ec2.send(new DescribeInstancesCommand({ InstanceIds: [ids[(i * 7919) % ids.length]!] }))));
  console.log(`DescribeInstances by id (${ids.length} instances): ${fmt(byId)}; CPU ${((cpuMs() - d0) / 300).toFixed(2)} ms per call`);
  d0 = cpuMs();

  let token: string | undefined;
  const page = await phase('describe-filtered-page', () => timed(300, async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ MaxResults: 100, Filters: [{ Name: 'instance-type', Values: ['m1.small'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }], ...(token ? { NextToken: token } : {}) }));
    token = r.NextToken;
    if (r.Reservations!.flatMap((x) => x.Instances!).length === 0) throw new Error('empty page');
  }));
  console.log(`DescribeInstances filtered (instance-type, state) 100-item page: ${fmt(page)}; CPU ${((cpuMs() - d0) / 300).toFixed(2)} ms per call`);
  d0 = cpuMs();

  token = undefined;
  const tagPage = await phase('describe-tag-page', () => timed(100, async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ MaxResults: 100, Filters: [{ Name: 'tag:batch', Values: ['3'] }], ...(token ? { NextToken: token } : {}) }));
    token = r.NextToken;
    if (r.Reservations!.flatMap((x) => x.Instances!).length === 0) throw new Error('empty page');
  }));
  console.log(`DescribeInstances tag-filtered 100-item page (tag:batch=3, in SQL over ${ids.length}): ${fmt(tagPage)}; CPU ${((cpuMs() - d0) / 100).toFixed(2)} ms per call; load ${load()}`);
} finally {
  ec2.destroy();
  // The fake VMs live in this process: closing the node is enough (destroy would terminate 10,000 one by one).
  await cloud.stop();
  await nc.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
