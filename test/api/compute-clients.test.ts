/**
 * Key pairs and instance types through the real command-line clients: Debian's aws CLI and boto3.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestCloud, awsCliProfile, type TestCloud, type AwsCliProfile } from '../../src/main/testing.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';

let cloud: TestCloud;
let dir: string;
let env: NodeJS.ProcessEnv;
let runAws: AwsCliProfile['aws'];
before(async () => {
  cloud = await startTestCloud();
  dir = mkdtempSync(join(tmpdir(), 'euca-ccli-'));
  ({ env, aws: runAws } = awsCliProfile(cloud, dir));
});
after(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function aws(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  return runAws(['--output', 'json', ...args]);
}

test('aws CLI: import-key-pair with fileb://, fingerprints as AWS, duplicate and missing keys', async () => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed')]);
  let r = await aws('ec2', 'import-key-pair', '--key-name', 'cli-ed', '--public-key-material', `fileb://${join(dir, 'id_ed.pub')}`);
  assert.equal(r.code, 0, r.err);
  const fp = /SHA256:(\S+)/.exec(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'id_ed.pub')]).toString())![1];
  assert.equal(JSON.parse(r.out).KeyFingerprint, `${fp}=`);
  r = await aws('ec2', 'import-key-pair', '--key-name', 'cli-ed', '--public-key-material', `fileb://${join(dir, 'id_ed.pub')}`);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /InvalidKeyPair\.Duplicate/);
  r = await aws('ec2', 'create-key-pair', '--key-name', 'cli-rsa', '--query', 'KeyMaterial', '--output', 'text');
  assert.equal(r.code, 0, r.err);
  writeFileSync(join(dir, 'cli-rsa.pem'), r.out, { mode: 0o600 });
  const pub = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'cli-rsa.pem')]).toString().trim();
  r = await aws('ec2', 'describe-key-pairs', '--key-names', 'cli-rsa', '--include-public-key');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).KeyPairs[0].PublicKey.split(' ').slice(0, 2).join(' '), pub);
  r = await aws('ec2', 'describe-key-pairs', '--key-names', 'nope');
  assert.match(r.err, /InvalidKeyPair\.NotFound/);
  r = await aws('ec2', 'delete-key-pair', '--key-name', 'cli-rsa');
  assert.equal(r.code, 0, r.err);
});

test('aws CLI: describe-instance-types and describe-availability-zones verbose', async () => {
  let r = await aws('ec2', 'describe-instance-types', '--instance-types', 'm1.small', 'c1.medium');
  assert.equal(r.code, 0, r.err);
  const types = JSON.parse(r.out).InstanceTypes as Array<{ InstanceType: string; VCpuInfo: { DefaultVCpus: number } }>;
  assert.deepEqual(types.map((t) => [t.InstanceType, t.VCpuInfo.DefaultVCpus]).sort(), [['c1.medium', 2], ['m1.small', 1]]);
  r = await aws('ec2', 'describe-availability-zones', '--zone-names', 'verbose');
  assert.equal(r.code, 0, r.err);
  const zones = JSON.parse(r.out).AvailabilityZones as Array<{ ZoneName: string; State: string }>;
  assert.ok(zones.some((z) => z.ZoneName === '|- c1.xlarge' && /^0000 \/ 0000/.test(z.State)), r.out);
});

test('boto3: create an ED25519 key pair and describe it by filter', async () => {
  const script = `
import boto3, json, sys
c = boto3.client('ec2', endpoint_url=sys.argv[1], region_name='eucalyptus', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
k = c.create_key_pair(KeyName='py-ed', KeyType='ed25519')
d = c.describe_key_pairs(Filters=[{'Name': 'key-type', 'Values': ['ed25519']}])
try:
    c.create_key_pair(KeyName='py-ed')
    dup = 'none'
except c.exceptions.ClientError as e:
    dup = e.response['Error']['Code']
print(json.dumps({'fp': k['KeyFingerprint'], 'pem': k['KeyMaterial'][:35], 'names': [x['KeyName'] for x in d['KeyPairs']], 'dup': dup}))
`;
  const py = join(dir, 'kp.py');
  writeFileSync(py, script);
  const { stdout } = await run(PY, [py, `${cloud.endpoints.clc}/services/compute`, cloud.admin.accessKeyId, cloud.admin.secretAccessKey], { env: { ...env, PYTHONPATH: '' }, timeout: 60_000 });
  const r = JSON.parse(stdout) as { fp: string; pem: string; names: string[]; dup: string };
  assert.equal(r.pem, '-----BEGIN OPENSSH PRIVATE KEY-----');
  assert.match(r.fp, /=$/);
  assert.deepEqual(r.names.filter((n) => n.startsWith('py-')), ['py-ed']);
  assert.equal(r.dup, 'InvalidKeyPair.Duplicate');
});
