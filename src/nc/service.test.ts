import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AwsError, silentLogger } from '../shared/index.js';
import { ncClient, type RunInstanceRequest } from '../rpc/index.js';
import { FakeDriver, FakeHost } from './fake/index.js';
import { startNodeController } from './service.js';

function req(n: number, over: Partial<RunInstanceRequest> = {}, kernel = '/bin/sh'): RunInstanceRequest {
  return {
    instanceId: `i-${n.toString(16).padStart(17, '0')}`, reservationId: 'r-00000000000000001', ownerId: '123456789012',
    instanceType: { name: 'm1.small', cores: 1, memoryMiB: 256, diskGiB: 0 },
    boot: { imageId: 'emi-00000001', kernel: { id: 'eki-00000001', path: kernel } },
    metadata: { availabilityZone: 'zone-1', userData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64') },
    ...over,
  };
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('NC over HTTP with the fake driver: lifecycle, capacity, failures, restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-nc-'));
  const host = new FakeHost();
  const start = () => startNodeController({ dataDir, port: 0, driver: new FakeDriver({ host }), network: false, resources: { cores: 2, memoryMiB: 1024, diskGiB: 10 }, logger: silentLogger(), secret: 'k' });
  let nc = await start();
  try {
    let c = ncClient(nc.url, { secret: 'k' });
    const running = async (id: string) => {
      const r = await c.describeInstances({ instanceIds: [id] });
      return r.instances[0]?.state === 'running' ? r.instances[0] : undefined;
    };
    const r1 = await c.runInstance(req(1));
    assert.equal(r1.instance.state, 'pending');
    const i1 = await until(() => running(r1.instance.instanceId));
    assert.equal(i1.privateIp, '10.77.0.10');
    assert.equal(i1.mac, 'd0:0d:0a:4d:00:0a');
    assert.equal(i1.bootCount, 1);
    // idempotent retry
    assert.equal((await c.runInstance(req(1))).instance.privateIp, '10.77.0.10');
    const r2 = await c.runInstance(req(2));
    assert.equal(r2.instance.privateIp, '10.77.0.11');
    await until(() => running(r2.instance.instanceId));
    let res = await c.describeResource({});
    assert.equal(res.coresAvailable, 0);
    assert.equal(res.memoryMiBAvailable, 512);
    await assert.rejects(c.runInstance(req(3)), (e: unknown) => e instanceof AwsError && e.code === 'InsufficientInstanceCapacity');
    assert.deepEqual((await c.describeInstances({ instanceIds: [req(3).instanceId] })).instances, []);

    // console, reboot, stop/start
    const con = Buffer.from((await c.getConsoleOutput({ instanceId: i1.instanceId })).output, 'base64').toString();
    assert.match(con, /boot 1/);
    assert.equal((await c.rebootInstance({ instanceId: i1.instanceId })).instance.bootCount, 2);
    const st = await c.stopInstance({ instanceId: i1.instanceId });
    assert.equal(st.instance.state, 'stopped');
    assert.equal(st.instance.stateReason?.code, 'Client.UserInitiatedShutdown');
    await assert.rejects(c.rebootInstance({ instanceId: i1.instanceId }), (e: unknown) => e instanceof AwsError && e.code === 'IncorrectInstanceState');
    res = await c.describeResource({});
    assert.equal(res.coresAvailable, 1, 'a stopped instance frees its cores');
    assert.equal((await c.startInstance({ instanceId: i1.instanceId })).instance.state, 'running');
    await assert.rejects(c.startInstance({ instanceId: i1.instanceId }), (e: unknown) => e instanceof AwsError && e.code === 'IncorrectInstanceState');
    await assert.rejects(c.rebootInstance({ instanceId: 'i-00000000000000abc' }), (e: unknown) => e instanceof AwsError && e.code === 'InvalidInstanceID.NotFound');

    // crash → stopped with a reason
    host.crash(r2.instance.instanceId);
    const crashed = await until(async () => (await c.describeInstances({ instanceIds: [r2.instance.instanceId] })).instances.find((i) => i.state === 'stopped'));
    assert.equal(crashed.stateReason?.code, 'Server.InternalError');

    // restart: the running instance is still running, the stopped one stopped
    await nc.close();
    nc = await start();
    c = ncClient(nc.url, { secret: 'k' });
    const after = (await c.describeInstances({})).instances;
    assert.equal(after.find((i) => i.instanceId === i1.instanceId)?.state, 'running');
    assert.equal(after.find((i) => i.instanceId === r2.instance.instanceId)?.state, 'stopped');

    // terminate: idempotent, terminated stays visible, VM gone
    const t = await c.terminateInstance({ instanceId: i1.instanceId });
    assert.equal(t.instance.state, 'terminated');
    assert.equal(host.vms.has(i1.instanceId), false);
    assert.equal((await c.terminateInstance({ instanceId: i1.instanceId })).instance.state, 'terminated');
    assert.equal((await c.terminateInstance({ instanceId: 'i-00000000000000abc' })).instance.state, 'terminated');
    assert.equal((await c.describeInstances({ instanceIds: [i1.instanceId] })).instances[0]?.state, 'terminated');

    // a launch that cannot succeed ends terminated with a reason, nothing left
    const bad = await c.runInstance(req(5, {}, '/nonexistent/vmlinuz'));
    const term = await until(async () => (await c.describeInstances({ instanceIds: [bad.instance.instanceId] })).instances.find((i) => i.state === 'terminated'));
    assert.equal(term.stateReason?.code, 'Server.InternalError');
    assert.match(term.stateReason!.message, /does not exist/);
    assert.equal(host.vms.has(bad.instance.instanceId), false);

    // bad input → InvalidParameterValue, not a crash
    await assert.rejects(c.runInstance(req(6, { net: { privateIp: '192.168.1.5' } })), (e: unknown) => e instanceof AwsError && e.code === 'InvalidParameterValue');
    const raw = await fetch(`${nc.url}/nc/v1/RunInstance`, { method: 'POST', body: '{' });
    assert.equal(raw.status, 401);
  } finally {
    await nc.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('image cache: local path checked, sha256 verified', async () => {
  const { ImageCache } = await import('./image-cache.js');
  const dir = mkdtempSync(join(tmpdir(), 'euca-cache-'));
  try {
    const f = join(dir, 'k');
    writeFileSync(f, 'kernel');
    const cache = new ImageCache(join(dir, 'c'));
    assert.equal((await cache.get({ id: 'eki-00000001', path: f }, false)).path, f);
    const sha = 'a3ad3a8ad6e0c5e8e8b0b2bbd0d4cda7f7f2ee14f2fb24e70d2a4f6e7b40c5b0';
    await assert.rejects(cache.get({ id: 'eki-00000002', path: f, sha256: sha }, false), /checksum mismatch/);
    assert.equal((await cache.get({ id: 'emi-00000003', path: f }, true)).format, 'raw');
    await assert.rejects(cache.get({ id: 'emi-00000004', path: f, format: 'qcow2' }, true), /declared qcow2 but is raw/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image cache: a disk is probed once per version of its file', async () => {
  const { ImageCache } = await import('./image-cache.js');
  const dir = mkdtempSync(join(tmpdir(), 'euca-cache-'));
  try {
    const f = join(dir, 'disk');
    writeFileSync(f, 'raw disk');
    const probes: string[] = [];
    const cache = new ImageCache(join(dir, 'c'), (p) => {
      probes.push(p);
      return Promise.resolve(readFileSync(p, 'utf8').startsWith('QFI') ? 'qcow2' : 'raw');
    });
    const a = { id: 'emi-00000005', path: f };
    assert.equal((await cache.get(a, true)).format, 'raw');
    assert.equal((await cache.get(a, true)).format, 'raw');
    assert.equal((await Promise.all([cache.get(a, true), cache.get(a, true)]))[1].format, 'raw');
    assert.equal(probes.length, 1, 'unchanged file: probed once');
    // replaced by another file (new inode): probed again
    writeFileSync(`${f}.new`, 'QFI\xfb qcow2 now');
    renameSync(`${f}.new`, f);
    assert.equal((await cache.get(a, true)).format, 'qcow2');
    assert.equal(probes.length, 2);
    // gone: the launch fails as before
    rmSync(f);
    await assert.rejects(cache.get(a, true), /does not exist on this node/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('incremental reports: the NC and the CC answer only what changed since a cursor, and everything after a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-nc-'));
  const host = new FakeHost();
  const start = () => startNodeController({ dataDir, port: 0, driver: new FakeDriver({ host }), network: false, resources: { cores: 4, memoryMiB: 2048, diskGiB: 10 }, logger: silentLogger(), secret: 'k' });
  let nc = await start();
  const { ClusterController } = await import('../cc/index.js');
  const cc = new ClusterController({ zone: 'zone-1', ncClient: (u) => ncClient(u, { secret: 'k' }), log: silentLogger() });
  try {
    const c = ncClient(nc.url, { secret: 'k' });
    const ids = [1, 2, 3].map((n) => req(n).instanceId);
    for (const n of [1, 2, 3]) await c.runInstance(req(n));
    await until(async () => ((await c.describeInstances({})).instances.every((i) => i.state === 'running') ? true : undefined));
    const all = await c.describeInstances({});
    assert.equal(all.full, true);
    assert.equal(all.instances.length, 3);
    // several in one message: results in order, each as RunInstance answers it (an existing one is idempotent, a
    // fifth does not fit the node's 4 cores and fails alone)
    const batch = await c.runInstances({ instances: [req(1), req(4), req(5)] });
    assert.deepEqual(batch.results.map((r) => [r.instanceId, r.ok, r.error?.code]), [[ids[0], true, undefined], [req(4).instanceId, true, undefined], [req(5).instanceId, false, 'InsufficientInstanceCapacity']]);
    await until(async () => ((await c.describeInstances({})).instances.every((i) => i.state === 'running') ? true : undefined));
    const all2 = await c.describeInstances({});
    assert.equal(all2.instances.length, 4);
    const quiet = await c.describeInstances({ since: all2.cursor! });
    assert.deepEqual([quiet.full, quiet.instances.length], [false, 0], 'nothing changed');
    await c.rebootInstance({ instanceId: ids[1]! });
    const one = await c.describeInstances({ since: all2.cursor! });
    assert.deepEqual(one.instances.map((i) => [i.instanceId, i.bootCount]), [[ids[1], 2]]);

    await cc.registerNode(nc.url);
    const first = await cc.describeInstances();
    assert.deepEqual([first.full, first.instances.length], [true, 4]);
    const none = await cc.describeInstances(undefined, first.cursor);
    assert.deepEqual([none.full, none.instances.length], [false, 0]);
    await c.terminateInstance({ instanceId: ids[0]! });
    await cc.poll();
    const changed = await cc.describeInstances(undefined, first.cursor);
    assert.deepEqual(changed.instances.map((x) => [x.report.instanceId, x.report.state]), [[ids[0], 'terminated']]);

    // a restarted NC has another epoch: the CC (and any caller) gets the full list again
    await nc.close();
    nc = await start();
    const again = await ncClient(nc.url, { secret: 'k' }).describeInstances({ since: one.cursor! });
    assert.equal(again.full, true);
    assert.equal(again.instances.length, 3, 'the terminated one was forgotten with its state file');
  } finally {
    await nc.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the CC writes its node registry at once (a crash right after registering does not forget the node)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-nc-'));
  const nc = await startNodeController({ dataDir, port: 0, driver: new FakeDriver(), network: false, resources: { cores: 2, memoryMiB: 1024, diskGiB: 10 }, logger: silentLogger(), secret: 'k', nodeId: 'n-reg' });
  const { ClusterController } = await import('../cc/index.js');
  const opts = { zone: 'zone-1', stateFile: join(dataDir, 'cc.json'), ncClient: (u: string) => ncClient(u, { secret: 'k' }), log: silentLogger() };
  try {
    await new ClusterController(opts).registerNode(nc.url);
    // no flush, no timer: a new CC process reading the file at once
    assert.deepEqual(new ClusterController(opts).describeNodes().map((n) => n.nodeId), ['n-reg']);
  } finally {
    await nc.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
