/**
 * The front door, black-box with the SDK v3: regions and zones, users and keys, caller identity, and the AWS error
 * codes for bad credentials, bad clocks, unknown actions, missing parameters and oversize bodies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EC2Client, DescribeRegionsCommand, DescribeAvailabilityZonesCommand } from '@aws-sdk/client-ec2';
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, DeleteAccessKeyCommand, GetUserCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startTestCloud, type TestCloud } from '../../src/main/testing.js';
import { signedFetch } from './sign.js';

let cloud: TestCloud;
before(async () => { cloud = await startTestCloud(); });
after(async () => { await cloud.stop(); });

const errName = (name: string) => (e: Error & { name: string; Code?: string }) => {
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  return true;
};

test('DescribeRegions and DescribeAvailabilityZones answer from the configuration', async () => {
  const ec2 = new EC2Client(cloud.clientConfig('ec2'));
  const r = await ec2.send(new DescribeRegionsCommand({}));
  assert.deepEqual(r.Regions?.map((x) => x.RegionName), ['eucalyptus']);
  assert.match(r.Regions?.[0]?.Endpoint ?? '', /\/services\/compute$/);
  assert.ok(r.$metadata.requestId, 'request id in the header the SDK reads');
  const z = await ec2.send(new DescribeAvailabilityZonesCommand({}));
  assert.deepEqual(z.AvailabilityZones?.map((x) => [x.ZoneName, x.State, x.RegionName]), [['euca-zone-1', 'available', 'eucalyptus']]);
  const f = await ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-name', Values: ['nope*'] }] }));
  assert.deepEqual(f.AvailabilityZones, []);
  await assert.rejects(ec2.send(new DescribeAvailabilityZonesCommand({ ZoneNames: ['mars-1a'] })), errName('InvalidParameterValue'));
  await assert.rejects(ec2.send(new DescribeRegionsCommand({ RegionNames: ['us-west-2'] })), errName('InvalidParameterValue'));
});

test('a new user and key: accepted, then refused once the key is deleted', async () => {
  const iam = new IAMClient(cloud.clientConfig('iam'));
  const u = await iam.send(new CreateUserCommand({ UserName: 'alice', Path: '/team/' }));
  assert.equal(u.User?.Arn, `arn:aws:iam::${cloud.admin.accountId}:user/team/alice`);
  await assert.rejects(iam.send(new CreateUserCommand({ UserName: 'alice' })), errName('EntityAlreadyExistsException'));
  const k = await iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
  const creds = { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! };
  const sts = new STSClient(cloud.clientConfig('sts', creds));
  const id = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(id.Arn, u.User?.Arn);
  assert.equal(id.Account, cloud.admin.accountId);
  assert.equal(id.UserId, u.User?.UserId);
  await iam.send(new DeleteAccessKeyCommand({ UserName: 'alice', AccessKeyId: creds.accessKeyId }));
  await assert.rejects(sts.send(new GetCallerIdentityCommand({})), errName('InvalidClientTokenId'));
  const ec2 = new EC2Client(cloud.clientConfig('ec2', creds));
  await assert.rejects(ec2.send(new DescribeRegionsCommand({})), errName('AuthFailure'));
});

test('wrong secret, unknown key and a skewed clock get the AWS codes', async () => {
  const bad = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: 'x'.repeat(40) };
  await assert.rejects(new STSClient(cloud.clientConfig('sts', bad)).send(new GetCallerIdentityCommand({})), errName('SignatureDoesNotMatch'));
  await assert.rejects(new EC2Client(cloud.clientConfig('ec2', bad)).send(new DescribeRegionsCommand({})), errName('AuthFailure'));
  const unknown = { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'y'.repeat(40) };
  await assert.rejects(new STSClient(cloud.clientConfig('sts', unknown)).send(new GetCallerIdentityCommand({})), errName('InvalidClientTokenId'));
  await assert.rejects(new EC2Client(cloud.clientConfig('ec2', unknown)).send(new DescribeRegionsCommand({})), errName('AuthFailure'));
  const skewed = new STSClient({ ...cloud.clientConfig('sts'), systemClockOffset: -60 * 60 * 1000 });
  await assert.rejects(skewed.send(new GetCallerIdentityCommand({})), (e: Error & { name: string }) => /Expired|Skew|SignatureDoesNotMatch/.test(e.name) && /expired|skew|time/i.test(e.message));
  const skewedEc2 = new EC2Client({ ...cloud.clientConfig('ec2'), systemClockOffset: 60 * 60 * 1000 });
  await assert.rejects(skewedEc2.send(new DescribeRegionsCommand({})), (e: Error & { name: string }) => /RequestExpired|AuthFailure|Skew/.test(e.name));
});

test('unknown Action, missing parameter, oversize body, unsupported operation', async () => {
  const base = cloud.endpoints.clc;
  const creds = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey };
  let r = await signedFetch(`${base}/services/compute`, 'ec2', creds, 'Action=LaunchRockets&Version=2016-11-15');
  assert.equal(r.status, 400);
  assert.match(r.body, /<Code>InvalidAction<\/Code>/);
  r = await signedFetch(`${base}/services/Euare`, 'iam', creds, 'Action=LaunchRockets&Version=2010-05-08');
  assert.match(r.body, /<Code>InvalidAction<\/Code>/);
  r = await signedFetch(`${base}/services/compute`, 'ec2', creds, 'Action=CreateKeyPair&Version=2016-11-15');
  assert.match(r.body, /<Code>MissingParameter<\/Code>/);
  r = await signedFetch(`${base}/services/Euare`, 'iam', creds, 'Action=CreateUser&Version=2010-05-08');
  assert.match(r.body, /<Code>ValidationError<\/Code>/);
  r = await signedFetch(`${base}/services/compute`, 'ec2', creds, 'Action=DescribeSpotPriceHistory&Version=2016-11-15');
  assert.equal(r.status, 400);
  assert.match(r.body, /<Code>UnsupportedOperation<\/Code>/);
  const big = 'Action=DescribeRegions&Version=2016-11-15&Junk=' + 'a'.repeat(10 * 1024 * 1024);
  r = await signedFetch(`${base}/services/compute`, 'ec2', creds, big);
  assert.ok(r.status >= 400 && r.status < 500, `10 MiB body → ${r.status}`);
  const ok = await signedFetch(`${base}/services/compute`, 'ec2', creds, 'Action=DescribeRegions&Version=2016-11-15');
  assert.equal(ok.status, 200, 'still serving after the oversize body');
});

test('DryRun answers DryRunOperation after authorization', async () => {
  const creds = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey };
  const r = await signedFetch(`${cloud.endpoints.clc}/services/compute`, 'ec2', creds, 'Action=DescribeRegions&Version=2016-11-15&DryRun=true');
  assert.equal(r.status, 412);
  assert.match(r.body, /<Code>DryRunOperation<\/Code>/);
});

test('users of one account see nothing of another', async () => {
  const { account } = await cloud.iam.createAccount('other-corp');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  const otherIam = new IAMClient(cloud.clientConfig('iam', { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }));
  const adminIam = new IAMClient(cloud.clientConfig('iam'));
  await adminIam.send(new CreateUserCommand({ UserName: 'bob' }));
  const listed = await otherIam.send(new ListUsersCommand({}));
  assert.deepEqual(listed.Users?.map((u) => u.UserName), ['admin']);
  await assert.rejects(otherIam.send(new GetUserCommand({ UserName: 'bob' })), errName('NoSuchEntityException'));
  const me = await otherIam.send(new GetUserCommand({}));
  assert.equal(me.User?.Arn, `arn:aws:iam::${account.accountId}:user/admin`);
});

test('a user with no policy is denied (default deny) with the service error', async () => {
  const u = await cloud.iam.createUser(cloud.admin.accountId, 'nopolicy');
  const k = await cloud.iam.createAccessKey(cloud.admin.accountId, u.name);
  const creds = { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  await assert.rejects(new IAMClient(cloud.clientConfig('iam', creds)).send(new ListUsersCommand({})), errName('AccessDenied'));
  await assert.rejects(new EC2Client(cloud.clientConfig('ec2', creds)).send(new DescribeRegionsCommand({})), errName('UnauthorizedOperation'));
  const id = await new STSClient(cloud.clientConfig('sts', creds)).send(new GetCallerIdentityCommand({}));
  assert.equal(id.Arn, u.arn, 'GetCallerIdentity needs no permission');
});

test('Eucalyptus account actions on the IAM endpoint: cloud admin only', async () => {
  const iamUrl = `${cloud.endpoints.clc}/services/Euare`;
  const admin = { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey };
  let r = await signedFetch(iamUrl, 'iam', admin, 'Action=CreateAccount&Version=2010-05-08&AccountName=tenant-a');
  assert.equal(r.status, 200, r.body);
  const id = /<AccountId>(\d{12})<\/AccountId>/.exec(r.body)?.[1];
  assert.ok(id, r.body);
  assert.match(r.body, /<CreateAccountResult><Account><AccountName>tenant-a<\/AccountName>/);
  r = await signedFetch(iamUrl, 'iam', admin, 'Action=CreateAccount&Version=2010-05-08&AccountName=tenant-a');
  assert.match(r.body, /<Code>EntityAlreadyExists<\/Code>/);
  r = await signedFetch(iamUrl, 'iam', admin, 'Action=CreateAccount&Version=2010-05-08&AccountName=Bad_Name');
  assert.equal(r.status, 400);
  assert.match(r.body, /<Code>ValidationError<\/Code>/);
  r = await signedFetch(iamUrl, 'iam', admin, 'Action=ListAccounts&Version=2010-05-08');
  assert.match(r.body, new RegExp(`<member><AccountName>tenant-a</AccountName><AccountId>${id}</AccountId></member>`));
  const key = await cloud.iam.createAccessKey(id!, 'admin');
  const tenant = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  r = await signedFetch(iamUrl, 'iam', tenant, 'Action=CreateAccount&Version=2010-05-08&AccountName=tenant-b');
  assert.equal(r.status, 403);
  assert.match(r.body, /<Code>AccessDenied<\/Code>/);
  r = await signedFetch(iamUrl, 'iam', tenant, 'Action=DeleteAccount&Version=2010-05-08&AccountName=tenant-a');
  assert.match(r.body, /<Code>AccessDenied<\/Code>/);
  r = await signedFetch(iamUrl, 'iam', admin, 'Action=DeleteAccount&Version=2010-05-08&AccountName=tenant-a');
  assert.equal(r.status, 200, r.body);
  r = await signedFetch(iamUrl, 'iam', tenant, 'Action=GetUser&Version=2010-05-08');
  assert.match(r.body, /<Code>InvalidClientTokenId<\/Code>/, 'the deleted account\'s keys are gone');
});
