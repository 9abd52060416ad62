/**
 * Eucalyptus quotas on real launches: the cloud-in-a-box with a node controller on the fake hypervisor driver, an
 * account whose cloud admin set `instances=2` (what `euca accounts quota` writes), driven by the SDK v3.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand, DescribeInstancesCommand, StopInstancesCommand, StartInstancesCommand } from '@aws-sdk/client-ec2';
import { startTestCloud, type TestCloud } from './testing.js';
import { internalSecret } from './compute.js';
import { startNodeController, type NodeController } from '../nc/index.js';
import { FakeDriver } from '../nc/fake/index.js';
import { setAccountQuotas, parseQuotaArgs } from '../clc/index.js';

let cloud: TestCloud;
let dir: string;
let nc: NodeController | undefined;
let ec2: EC2Client;
let imageId = '';

before(async () => {
  cloud = await startTestCloud();
  dir = mkdtempSync(join(tmpdir(), 'euca-quota-'));
  nc = await startNodeController({
    dataDir: join(dir, 'node0'), port: 0, host: '127.0.0.1', nodeId: 'node0', secret: internalSecret(cloud.config.dataDir), network: false,
    driver: new FakeDriver(), resources: { cores: 8, memoryMiB: 4096, diskGiB: 100 }, zone: cloud.config.zones[0]!,
  });
  await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.registerNode(nc.url);
  const { account } = await cloud.iam.createAccount('limited');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  ec2 = new EC2Client(cloud.clientConfig('ec2', { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(1024 * 1024));
  imageId = (await cloud.compute.service.images.registerLocal(account.accountId, { name: 'quota-disk', kind: 'machine', path: disk, format: 'raw', size: 1024 * 1024 })).imageId;
  await setAccountQuotas(cloud.directory, account.accountId, parseQuotaArgs(['instances=2']));
});

after(async () => {
  ec2?.destroy();
  await nc?.destroy().catch(() => undefined);
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('an account allowed 2 instances: MaxCount is trimmed to 2, a third launch fails naming the limit, terminating frees a slot', async () => {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 5, InstanceType: 'm1.small' }));
  assert.equal(r.Instances?.length, 2, 'as many as the quota allows');
  const e = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 })).catch((x: Error) => x);
  assert.equal((e as Error).name, 'InstanceLimitExceeded');
  assert.match((e as Error).message, /ec2:quota-vminstancenumber: 2/);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [r.Instances![0]!.InstanceId!] }));
  const third = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
  assert.equal(third.Instances?.length, 1, 'a terminated instance no longer counts');
  const live = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] }))).Reservations!.flatMap((x) => x.Instances!);
  assert.equal(live.length, 2);
});

async function waitState(ids: string[], state: string): Promise<void> {
  const end = Date.now() + 90_000;
  for (;;) {
    await cloud.compute.service.reconcile();
    const list = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((x) => x.Instances!);
    if (list.every((i) => i.State!.Name === state)) return;
    if (Date.now() > end) assert.fail(`not ${state}: ${JSON.stringify(list.map((i) => i.State?.Name))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('active-instances quota: a stopped instance may not start while the running ones fill the quota', async () => {
  const acct = (await cloud.iam.getAccount('limited')).accountId;
  // clean slate: terminate what the previous test left running
  const left = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] }))).Reservations!.flatMap((x) => x.Instances!).map((i) => i.InstanceId!);
  if (left.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: left }));
  await setAccountQuotas(cloud.directory, acct, parseQuotaArgs(['instances=3', 'active-instances=1']));
  const a = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
  await waitState([a], 'running');
  await ec2.send(new StopInstancesCommand({ InstanceIds: [a] }));
  await waitState([a], 'stopped');
  const b = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
  const e = await ec2.send(new StartInstancesCommand({ InstanceIds: [a] })).catch((x: Error) => x);
  assert.equal((e as Error).name, 'InstanceLimitExceeded');
  assert.match((e as Error).message, /ec2:quota-vminstanceactivenumber: 1/);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [b] }));
  await ec2.send(new StartInstancesCommand({ InstanceIds: [a] }));
});
