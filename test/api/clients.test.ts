/**
 * The front door with the real command-line clients: Debian's aws CLI (through the profile `euca credentials` writes,
 * including the endpoint plugin for CLI v2 before 2.13) and boto3.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestCloud, awsCliProfile, DEBIAN_AWS, type TestCloud, type AwsCliProfile } from '../../src/main/testing.js';

const run = promisify(execFile);
const PY = '/usr/bin/python3';

let cloud: TestCloud;
let dir: string;
let env: NodeJS.ProcessEnv;
let runAws: AwsCliProfile['aws'];
before(async () => {
  cloud = await startTestCloud();
  dir = mkdtempSync(join(tmpdir(), 'euca-cli-'));
  ({ env, aws: runAws } = awsCliProfile(cloud, dir, '[profile mine]\nregion = us-east-1\n'));
});
after(async () => {
  await cloud.stop();
  rmSync(dir, { recursive: true, force: true });
});

function aws(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  return runAws(args);
}

test('the profile leaves the user\'s other profiles alone', () => {
  const config = readFileSync(env.AWS_CONFIG_FILE!, 'utf8');
  assert.match(config, /\[profile mine\]\nregion = us-east-1/);
  assert.match(config, /\[profile euca\]/);
});

test('aws CLI: regions, zones, users, keys, caller identity, and refusal after delete-access-key', async () => {
  let r = await aws('ec2', 'describe-regions');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).Regions[0].RegionName, 'eucalyptus');
  r = await aws('ec2', 'describe-availability-zones');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).AvailabilityZones[0].ZoneName, 'euca-zone-1');
  r = await aws('iam', 'create-user', '--user-name', 'carol');
  assert.equal(r.code, 0, r.err);
  r = await aws('iam', 'create-access-key', '--user-name', 'carol');
  assert.equal(r.code, 0, r.err);
  const key = JSON.parse(r.out).AccessKey;
  r = await aws('sts', 'get-caller-identity');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).Account, cloud.admin.accountId);

  const carolEnv = { ...env, AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey };
  const asCarol = async () => {
    try {
      const x = await run(DEBIAN_AWS, ['--region', 'eucalyptus', '--endpoint-url', `${cloud.endpoints.clc}/services/Tokens`, 'sts', 'get-caller-identity'], { env: { ...carolEnv, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, timeout: 60_000 });
      return { code: 0, out: x.stdout, err: '' };
    } catch (e) {
      const x = e as { stdout: string; stderr: string; code: number };
      return { code: x.code, out: x.stdout, err: x.stderr };
    }
  };
  let c = await asCarol();
  assert.equal(c.code, 0, c.err);
  assert.match(JSON.parse(c.out).Arn, /:user\/carol$/);
  r = await aws('iam', 'delete-access-key', '--user-name', 'carol', '--access-key-id', key.AccessKeyId);
  assert.equal(r.code, 0, r.err);
  c = await asCarol();
  assert.notEqual(c.code, 0);
  assert.match(c.err, /InvalidClientTokenId/);
});

test('boto3: regions, users, keys and caller identity; bad key codes', async () => {
  const script = `
import boto3, json, sys
from botocore.exceptions import ClientError
ep = sys.argv[1]; ak = sys.argv[2]; sk = sys.argv[3]
kw = dict(region_name='eucalyptus', aws_access_key_id=ak, aws_secret_access_key=sk)
ec2 = boto3.client('ec2', endpoint_url=ep + '/services/compute', **kw)
iam = boto3.client('iam', endpoint_url=ep + '/services/Euare', **kw)
sts = boto3.client('sts', endpoint_url=ep + '/services/Tokens', **kw)
out = {}
out['regions'] = [r['RegionName'] for r in ec2.describe_regions()['Regions']]
out['zones'] = [z['ZoneName'] for z in ec2.describe_availability_zones()['AvailabilityZones']]
iam.create_user(UserName='dave')
k = iam.create_access_key(UserName='dave')['AccessKey']
dave = boto3.client('sts', endpoint_url=ep + '/services/Tokens', region_name='eucalyptus', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'])
out['dave'] = dave.get_caller_identity()['Arn']
iam.delete_access_key(UserName='dave', AccessKeyId=k['AccessKeyId'])
try:
    dave.get_caller_identity(); out['after'] = 'accepted'
except ClientError as e:
    out['after'] = e.response['Error']['Code']
bad = boto3.client('ec2', endpoint_url=ep + '/services/compute', region_name='eucalyptus', aws_access_key_id=ak, aws_secret_access_key='x' * 40)
try:
    bad.describe_regions(); out['badsecret'] = 'accepted'
except ClientError as e:
    out['badsecret'] = e.response['Error']['Code']
try:
    iam.get_user(UserName='nobody'); out['nouser'] = 'found'
except ClientError as e:
    out['nouser'] = e.response['Error']['Code']
print(json.dumps(out))
`;
  const r = await run(PY, ['-c', script, cloud.endpoints.clc, cloud.admin.accessKeyId, cloud.admin.secretAccessKey], { timeout: 120_000 });
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.regions, ['eucalyptus']);
  assert.deepEqual(out.zones, ['euca-zone-1']);
  assert.match(out.dave, /:user\/dave$/);
  assert.equal(out.after, 'InvalidClientTokenId');
  assert.equal(out.badsecret, 'AuthFailure');
  assert.equal(out.nouser, 'NoSuchEntity');
});
