import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EC2Client, CreateKeyPairCommand, ImportKeyPairCommand, DescribeKeyPairsCommand, DeleteKeyPairCommand, CreateTagsCommand,
  DescribeTagsCommand, DeleteTagsCommand, DescribeInstanceTypesCommand, RunInstancesCommand, DescribeInstancesCommand,
  DescribeAvailabilityZonesCommand, TerminateInstancesCommand, DescribeImagesCommand,
} from '@aws-sdk/client-ec2';
import { startTestCloud, type TestCloud } from '../../main/testing.js';

let cloud: TestCloud;
let ec2: EC2Client;

before(async () => {
  cloud = await startTestCloud();
  ec2 = new EC2Client(cloud.clientConfig('ec2'));
});
after(async () => {
  ec2?.destroy();
  await cloud?.stop();
});

const code = (re: string) => (e: unknown) => {
  assert.equal((e as { name?: string; Code?: string }).name, re, String(e));
  return true;
};

test('key pairs: create RSA/ED25519 in PEM/PPK, import, duplicates, describe, delete', async () => {
  const rsa = await ec2.send(new CreateKeyPairCommand({ KeyName: 'k-rsa' }));
  assert.match(rsa.KeyMaterial!, /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.match(rsa.KeyFingerprint!, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
  assert.match(rsa.KeyPairId!, /^key-[0-9a-f]{17}$/);
  const ed = await ec2.send(new CreateKeyPairCommand({ KeyName: 'k-ed', KeyType: 'ed25519', KeyFormat: 'ppk', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'compute' }] }] }));
  assert.match(ed.KeyMaterial!, /^PuTTY-User-Key-File-2: ssh-ed25519/);
  assert.match(ed.KeyFingerprint!, /^[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(ed.Tags, [{ Key: 'team', Value: 'compute' }]);
  await assert.rejects(ec2.send(new CreateKeyPairCommand({ KeyName: 'k-rsa' })), code('InvalidKeyPair.Duplicate'));

  const dir = mkdtempSync(join(tmpdir(), 'euca-kp-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'id')]);
    const pub = readFileSync(join(dir, 'id.pub'));
    const imp = await ec2.send(new ImportKeyPairCommand({ KeyName: 'k-imp', PublicKeyMaterial: pub }));
    const want = execFileSync('bash', ['-c', `ssh-keygen -e -m PKCS8 -f ${join(dir, 'id.pub')} | openssl pkey -pubin -outform DER | openssl md5 -c`]).toString().trim().split('= ')[1];
    assert.equal(imp.KeyFingerprint, want);
    await assert.rejects(ec2.send(new ImportKeyPairCommand({ KeyName: 'k-bad', PublicKeyMaterial: Buffer.from('not a key') })), code('InvalidKey.Format'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const all = await ec2.send(new DescribeKeyPairsCommand({}));
  assert.deepEqual(all.KeyPairs!.map((k) => k.KeyName), ['k-ed', 'k-imp', 'k-rsa']);
  const one = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['k-imp'], IncludePublicKey: true }));
  assert.match(one.KeyPairs![0]!.PublicKey!, /^ssh-rsa AAAA/);
  const byTag = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:team', Values: ['comp*'] }] }));
  assert.deepEqual(byTag.KeyPairs!.map((k) => k.KeyName), ['k-ed']);
  await assert.rejects(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['nope'] })), code('InvalidKeyPair.NotFound'));
  await ec2.send(new DeleteKeyPairCommand({ KeyName: 'k-rsa' }));
  await ec2.send(new DeleteKeyPairCommand({ KeyName: 'k-rsa' })); // absent by name: still fine, as on AWS
  await assert.rejects(ec2.send(new DeleteKeyPairCommand({ KeyPairId: 'key-00000000000000000' })), code('InvalidKeyPair.NotFound'));
  assert.equal((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs!.length, 2);
});

test('tags on key pairs: create, describe with filters, delete; unknown resources fail', async () => {
  const k = await ec2.send(new CreateKeyPairCommand({ KeyName: 'tagged' }));
  await ec2.send(new CreateTagsCommand({ Resources: [k.KeyPairId!], Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
  const d = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [k.KeyPairId!] }] }));
  assert.deepEqual(d.Tags!.map((t) => [t.Key, t.Value, t.ResourceType]), [['a', '1', 'key-pair'], ['b', '2', 'key-pair']]);
  await ec2.send(new DeleteTagsCommand({ Resources: [k.KeyPairId!], Tags: [{ Key: 'a' }] }));
  const d2 = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [k.KeyPairId!] }] }));
  assert.deepEqual(d2.Tags!.map((t) => t.Key), ['b']);
  await assert.rejects(ec2.send(new CreateTagsCommand({ Resources: ['i-0123456789abcdef0'], Tags: [{ Key: 'x', Value: 'y' }] })), code('InvalidInstanceID.NotFound'));
  await assert.rejects(ec2.send(new CreateTagsCommand({ Resources: [k.KeyPairId!], Tags: [{ Key: 'aws:x', Value: 'y' }] })), code('InvalidParameterValue'));
});

test('instance types with Eucalyptus sizes', async () => {
  const r = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m1.small', 'c1.xlarge'] }));
  const by = Object.fromEntries(r.InstanceTypes!.map((t) => [t.InstanceType, t]));
  assert.equal(by['m1.small']!.VCpuInfo!.DefaultVCpus, 1);
  assert.equal(by['m1.small']!.MemoryInfo!.SizeInMiB, 256);
  assert.equal(by['c1.xlarge']!.MemoryInfo!.SizeInMiB, 2048);
  const all = await ec2.send(new DescribeInstanceTypesCommand({}));
  assert.ok(all.InstanceTypes!.length >= 10);
});

test('RunInstances errors: unknown image, bad counts; no instance left behind', async () => {
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 1, MaxCount: 1 })), code('InvalidAMIID.NotFound'));
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 3, MaxCount: 1 })), code('InvalidParameterValue'));
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'bogus', MinCount: 1, MaxCount: 1 })), code('InvalidAMIID.Malformed'));
  const d = await ec2.send(new DescribeInstancesCommand({}));
  assert.deepEqual(d.Reservations, []);
  await assert.rejects(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), code('InvalidInstanceID.NotFound'));
  await assert.rejects(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), code('InvalidInstanceID.NotFound'));
  await assert.rejects(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })), code('InvalidParameterValue'));
  const imgs = await ec2.send(new DescribeImagesCommand({}));
  assert.deepEqual(imgs.Images, []);
});

test('DescribeAvailabilityZones verbose: capacity table with no nodes is all zero', async () => {
  const r = await ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['verbose'] }));
  const names = r.AvailabilityZones!.map((z) => z.ZoneName);
  assert.equal(names[0], cloud.config.zones[0]);
  assert.equal(names[1], '|- vm types');
  const small = r.AvailabilityZones!.find((z) => z.ZoneName === '|- m1.small')!;
  assert.match(small.State!, /^0000 \/ 0000 +1 +256 +5$/);
});
