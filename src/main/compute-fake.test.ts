/**
 * Instances end to end on the fake hypervisor driver: the cloud-in-a-box (gateway, CLC compute, CC) with real node
 * controllers running FakeDriver, driven by the SDK v3.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EC2Client, RunInstancesCommand, DescribeInstancesCommand, TerminateInstancesCommand, StopInstancesCommand, StartInstancesCommand,
  RebootInstancesCommand, GetConsoleOutputCommand, DescribeInstanceStatusCommand, CreateTagsCommand, DescribeAvailabilityZonesCommand,
  DescribeInstanceAttributeCommand, ModifyInstanceAttributeCommand, ImportKeyPairCommand, type Instance,
} from '@aws-sdk/client-ec2';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RegisterImageCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { startTestCloud, type TestCloud } from './testing.js';
import { internalSecret } from './compute.js';
import { startNodeController, type NodeController } from '../nc/index.js';
import { FakeDriver } from '../nc/fake/index.js';

let cloud: TestCloud;
let ec2: EC2Client;
let dir: string;
const ncs: NodeController[] = [];
let imageId = '';
let brokenImageId = '';
let failing = false;

before(async () => {
  cloud = await startTestCloud();
  ec2 = new EC2Client(cloud.clientConfig('ec2'));
  dir = mkdtempSync(join(tmpdir(), 'euca-fake-'));
  const secret = internalSecret(cloud.config.dataDir);
  for (let i = 0; i < 2; i++) {
    const nc = await startNodeController({
      dataDir: join(dir, `node${i}`), port: 0, host: '127.0.0.1', nodeId: `node${i}`, secret, network: false,
      driver: new FakeDriver({ failSpawn: () => failing }), resources: { cores: 2, memoryMiB: 1024, diskGiB: 20 },
      zone: cloud.config.zones[0]!,
    });
    ncs.push(nc);
    await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.registerNode(nc.url);
  }
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, Buffer.alloc(1024 * 1024));
  const img = await cloud.compute.service.images.registerLocal(cloud.admin.accountId, { name: 'fake-disk', kind: 'machine', path: disk, format: 'raw', size: 1024 * 1024 });
  imageId = img.imageId;
  const gone = await cloud.compute.service.images.registerLocal(cloud.admin.accountId, { name: 'gone-disk', kind: 'machine', path: join(dir, 'missing.img'), format: 'raw', size: 1024 });
  brokenImageId = gone.imageId;
});

after(async () => {
  ec2?.destroy();
  for (const nc of ncs) await nc.destroy().catch(() => undefined);
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function describe(ids: string[]): Promise<Instance[]> {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return r.Reservations!.flatMap((x) => x.Instances!);
}

async function waitFor(ids: string[], state: string, timeoutMs = 90_000): Promise<Instance[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await cloud.compute.service.reconcile();
    const list = await describe(ids);
    if (list.every((i) => i.State!.Name === state)) return list;
    if (Date.now() > end) assert.fail(`instances did not reach ${state}: ${JSON.stringify(list.map((i) => [i.InstanceId, i.State?.Name, i.StateReason]))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('RunInstances --count 3: distinct addresses across nodes, running, tagged, described by filters and pages', async () => {
  const kp = await ec2.send(new ImportKeyPairCommand({ KeyName: 'fake-key', PublicKeyMaterial: Buffer.from('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDRP8XafELDcVhQyZEAFUzGSAFWoqrT0ylX2DPtIcRWM me') }));
  assert.ok(kp.KeyFingerprint);
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: imageId, MinCount: 3, MaxCount: 3, InstanceType: 'm1.small', KeyName: 'fake-key', UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'trio' }] }],
  }));
  assert.match(r.ReservationId!, /^r-[0-9a-f]{17}$/);
  assert.equal(r.Instances!.length, 3);
  assert.ok(r.Instances!.every((i) => i.State!.Name === 'pending' && i.Tags![0]!.Value === 'trio'));
  const ids = r.Instances!.map((i) => i.InstanceId!);
  const running = await waitFor(ids, 'running');
  const ips = running.map((i) => i.PrivateIpAddress);
  assert.equal(new Set(ips).size, 3, `distinct IPs: ${ips.join(',')}`);
  assert.deepEqual(running.map((i) => i.AmiLaunchIndex).sort(), [0, 1, 2]);
  const placed = await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.describeInstances(ids);
  assert.equal(new Set(placed.instances.map((x) => x.nodeId)).size, 2, 'ROUNDROBIN spreads over both nodes');

  const byTag = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['tr*'] }, { Name: 'instance-state-name', Values: ['running'] }] }));
  assert.equal(byTag.Reservations![0]!.Instances!.length, 3);
  const page1 = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, Filters: [{ Name: 'instance-type', Values: ['m1.small'] }] }));
  assert.equal(page1.Reservations!.flatMap((x) => x.Instances!).length, 3);
  const st = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: ids }));
  assert.equal(st.InstanceStatuses!.length, 3);

  const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: ids[0]!, Attribute: 'userData' }));
  assert.equal(Buffer.from(attr.UserData!.Value!, 'base64').toString(), '#!/bin/sh\necho hi\n');
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: ids[0]! }));
  assert.equal(out.InstanceId, ids[0]);
  await ec2.send(new RebootInstancesCommand({ InstanceIds: [ids[0]!] }));

  // over capacity: 2 nodes × 2 cores, 3 in use → asking for 2 more at minimum fails and leaves nothing behind
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 2, MaxCount: 2 })), (e: Error) => e.name === 'InsufficientInstanceCapacity');
  const all = await ec2.send(new DescribeInstancesCommand({}));
  assert.equal(all.Reservations!.flatMap((x) => x.Instances!).length, 3);
  const zones = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['verbose'] }));
  assert.match(zones.AvailabilityZones!.find((z) => z.ZoneName === '|- m1.small')!.State!, /^0001 \/ 0004/);

  // stop / start (the fake driver keeps the disk)
  const stopped = await ec2.send(new StopInstancesCommand({ InstanceIds: [ids[1]!] }));
  assert.equal(stopped.StoppingInstances![0]!.PreviousState!.Name, 'running');
  await waitFor([ids[1]!], 'stopped');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: ids[1]!, InstanceType: { Value: 'c1.medium' } }));
  await assert.rejects(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: ids[0]!, InstanceType: { Value: 'c1.medium' } })), (e: Error) => e.name === 'IncorrectInstanceState');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: ids[1]!, InstanceType: { Value: 'm1.small' } }));
  await ec2.send(new StartInstancesCommand({ InstanceIds: [ids[1]!] }));
  await waitFor([ids[1]!], 'running');

  // terminate: terminated with the user's reason, still listed
  const t = await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  assert.ok(t.TerminatingInstances!.every((x) => x.PreviousState!.Name === 'running'));
  const done = await waitFor(ids, 'terminated');
  assert.ok(done.every((i) => i.StateReason!.Code === 'Client.UserInitiatedShutdown'));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })); // idempotent
  await ec2.send(new CreateTagsCommand({ Resources: [ids[0]!], Tags: [{ Key: 'after', Value: 'death' }] }));
  // capacity and addresses come back
  await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.poll();
  const z2 = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['verbose'] }));
  assert.match(z2.AvailabilityZones!.find((z) => z.ZoneName === '|- m1.small')!.State!, /^0004 \/ 0004/);
});

test('a launch that cannot succeed ends terminated with a state reason, and frees its capacity', async () => {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: brokenImageId, MinCount: 1, MaxCount: 1 }));
  const id = r.Instances![0]!.InstanceId!;
  const [i] = await waitFor([id], 'terminated');
  assert.equal(i!.StateReason!.Code, 'Server.InternalError');
  assert.match(i!.StateReason!.Message!, /^Server\.InternalError: .*missing\.img/);

  failing = true;
  try {
    const r2 = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1 }));
    const [j] = await waitFor([r2.Instances![0]!.InstanceId!], 'terminated');
    assert.match(j!.StateReason!.Message!, /^Server\.InternalError: /);
  } finally {
    failing = false;
  }
  await cloud.compute.clusters.get(cloud.config.zones[0]!)!.controller.poll();
  const z = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['verbose'] }));
  assert.match(z.AvailabilityZones!.find((x) => x.ZoneName === '|- m1.small')!.State!, /^0004 \/ 0004/);
});

test('ClientToken: the same request returns the same reservation; different arguments are refused', async () => {
  const a = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, ClientToken: 'tok-1' }));
  const b = await ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, ClientToken: 'tok-1' }));
  assert.equal(a.ReservationId, b.ReservationId);
  assert.equal(a.Instances![0]!.InstanceId, b.Instances![0]!.InstanceId);
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, ClientToken: 'tok-1', InstanceType: 'c1.medium' })), (e: Error) => e.name === 'IdempotentParameterMismatch');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.Instances![0]!.InstanceId!] }));
  await waitFor([a.Instances![0]!.InstanceId!], 'terminated');
});

test('RegisterImage from an object uploaded to Walrus: a raw disk runs, a corrupt qcow2 ends terminated with the reason', async () => {
  const s3 = new S3Client({ endpoint: cloud.endpoints.walrus, region: cloud.config.region, forcePathStyle: true, credentials: cloud.admin, maxAttempts: 1 });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'fake-images' }));
    await s3.send(new PutObjectCommand({ Bucket: 'fake-images', Key: 'good.img', Body: Buffer.alloc(2 * 1024 * 1024) }));
    const corrupt = Buffer.alloc(64 * 1024, 0xee);
    corrupt.writeUInt32BE(0x514649fb, 0); // a qcow2 magic followed by garbage
    await s3.send(new PutObjectCommand({ Bucket: 'fake-images', Key: 'corrupt.qcow2', Body: corrupt }));
  } finally {
    s3.destroy();
  }
  const good = await ec2.send(new RegisterImageCommand({ Name: 'uploaded-good', ImageLocation: 'fake-images/good.img' }));
  const bad = await ec2.send(new RegisterImageCommand({ Name: 'uploaded-corrupt', ImageLocation: 'fake-images/corrupt.qcow2' }));
  assert.match(good.ImageId!, /^emi-/);
  await assert.rejects(ec2.send(new RegisterImageCommand({ Name: 'missing', ImageLocation: 'fake-images/none.img' })), (e: Error) => e.name === 'InvalidManifest');
  const d = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['uploaded-*'] }] }));
  assert.deepEqual(d.Images!.map((i) => i.Name).sort(), ['uploaded-corrupt', 'uploaded-good']);

  const ok = await ec2.send(new RunInstancesCommand({ ImageId: good.ImageId!, MinCount: 1, MaxCount: 1 }));
  const ko = await ec2.send(new RunInstancesCommand({ ImageId: bad.ImageId!, MinCount: 1, MaxCount: 1 }));
  await waitFor([ok.Instances![0]!.InstanceId!], 'running');
  const [k] = await waitFor([ko.Instances![0]!.InstanceId!], 'terminated');
  assert.equal(k!.StateReason!.Code, 'Server.InternalError');
  assert.match(k!.StateReason!.Message!, /^Server\.InternalError: .*emi-/);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [ok.Instances![0]!.InstanceId!] }));
  await waitFor([ok.Instances![0]!.InstanceId!], 'terminated');
});
