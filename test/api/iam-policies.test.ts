/**
 * IAM policies enforced on every request, STS sessions and Limit quotas, black-box against an in-process cloud with
 * the SDK v3, the aws CLI (/usr/bin/aws) and boto3 (/usr/bin/python3). Runs on SQLite and PostgreSQL.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import {
  IAMClient, CreateUserCommand, CreateAccessKeyCommand, ListUsersCommand, PutUserPolicyCommand, CreateGroupCommand,
  AddUserToGroupCommand, PutGroupPolicyCommand, GetUserCommand, CreateRoleCommand, PutRolePolicyCommand, GetUserPolicyCommand,
  CreatePolicyCommand, AttachUserPolicyCommand, DetachUserPolicyCommand, ListEntitiesForPolicyCommand, CreatePolicyVersionCommand,
  GetAccountSummaryCommand, DeleteUserCommand, ListGroupsCommand, DeleteUserPolicyCommand, CreateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand, GetSessionTokenCommand, DecodeAuthorizationMessageCommand } from '@aws-sdk/client-sts';
import { startTestCloud, type TestCloud } from '../../src/main/testing.js';

const run = promisify(execFile);
let cloud: TestCloud;
let tmp: string;
type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

before(async () => {
  cloud = await startTestCloud();
  tmp = mkdtempSync(join(tmpdir(), 'euca-iam-policies-'));
});
after(async () => {
  await cloud.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const errName = (name: string) => (e: Error & { name: string }) => {
  assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
  return true;
};
const doc = (...Statement: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
const iamAs = (c?: Creds): IAMClient => new IAMClient(cloud.clientConfig('iam', c));
const stsAs = (c?: Creds): STSClient => new STSClient(cloud.clientConfig('sts', c));

async function newUser(iam: IAMClient, name: string): Promise<Creds> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  const k = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! };
}

function cliEnv(c: Creds): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: tmp, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '',
    AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey, ...(c.sessionToken ? { AWS_SESSION_TOKEN: c.sessionToken } : {}),
    AWS_DEFAULT_REGION: 'eucalyptus', HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1,localhost',
  };
}

async function aws(c: Creds, service: 'iam' | 'sts' | 'ec2', ...args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const path = { iam: '/services/Euare', sts: '/services/Tokens', ec2: '/services/compute' }[service];
  try {
    const r = await run('/usr/bin/aws', ['--endpoint-url', `${cloud.endpoints.clc}${path}`, '--output', 'json', service, ...args], { env: cliEnv(c), timeout: 60_000 });
    return { ok: true, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

async function boto3(c: Creds, script: string): Promise<string> {
  const code = `
import boto3, json, sys
from botocore.config import Config
def client(svc, path):
    return boto3.client(svc, endpoint_url=${JSON.stringify(cloud.endpoints.clc)} + path, region_name='eucalyptus',
        aws_access_key_id=${JSON.stringify(c.accessKeyId)}, aws_secret_access_key=${JSON.stringify(c.secretAccessKey)},
        aws_session_token=${c.sessionToken ? JSON.stringify(c.sessionToken) : 'None'}, config=Config(retries={'max_attempts': 1}))
iam = client('iam', '/services/Euare')
sts = client('sts', '/services/Tokens')
${script}
`;
  const r = await run('/usr/bin/python3', ['-c', code], { env: { PATH: process.env.PATH, HOME: tmp, NO_PROXY: '127.0.0.1,localhost', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, timeout: 60_000 });
  return r.stdout.trim();
}

test('a user with no policy is denied; put-user-policy allows; a group Deny wins (SDK v3)', async () => {
  const admin = iamAs();
  const bob = await newUser(admin, 'bob');
  const bobIam = iamAs(bob);
  const bobEc2 = new EC2Client(cloud.clientConfig('ec2', bob));
  await assert.rejects(bobIam.send(new ListUsersCommand({})), errName('AccessDenied'));
  const denied = await bobEc2.send(new DescribeRegionsCommand({})).catch((e: Error) => e);
  assert.equal((denied as Error).name, 'UnauthorizedOperation');
  const encoded = /Encoded authorization failure message: (\S+)/.exec((denied as Error).message)?.[1];
  assert.ok(encoded, 'EC2 denial carries an encoded message');

  await admin.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'read', PolicyDocument: doc({ Effect: 'Allow', Action: ['iam:List*', 'iam:Get*', 'ec2:Describe*', 'sts:DecodeAuthorizationMessage'], Resource: '*' }) }));
  const users = await bobIam.send(new ListUsersCommand({}));
  assert.ok(users.Users?.some((u) => u.UserName === 'bob'), 'allowed at once after put-user-policy');
  assert.ok((await bobEc2.send(new DescribeRegionsCommand({}))).Regions?.length);
  const decoded = await stsAs(bob).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded }));
  assert.equal(JSON.parse(decoded.DecodedMessage!).context.action, 'ec2:DescribeRegions');

  await admin.send(new CreateGroupCommand({ GroupName: 'no-iam-list' }));
  await admin.send(new AddUserToGroupCommand({ GroupName: 'no-iam-list', UserName: 'bob' }));
  await admin.send(new PutGroupPolicyCommand({ GroupName: 'no-iam-list', PolicyName: 'deny', PolicyDocument: doc({ Effect: 'Deny', Action: 'iam:ListUsers', Resource: '*' }) }));
  const e = await bobIam.send(new ListUsersCommand({})).catch((x: Error) => x);
  assert.equal((e as Error).name, 'AccessDenied');
  assert.match((e as Error).message, /explicit deny/);
  assert.ok((await bobIam.send(new ListGroupsCommand({}))).Groups?.length, 'other List* still allowed');
  // a DeleteConflict while the user still has policies and groups, as AWS
  await assert.rejects(admin.send(new DeleteUserCommand({ UserName: 'bob' })), errName('DeleteConflictException'));
});

test('aws:SourceIp excluding 127.0.0.1 denies; ${aws:username} reaches only the own user (aws CLI)', async () => {
  const admin = iamAs();
  const carl = await newUser(admin, 'carl');
  const dora = await newUser(admin, 'dora');
  const self = doc({ Effect: 'Allow', Action: ['iam:GetUser', 'iam:CreateAccessKey', 'iam:ListAccessKeys'], Resource: `arn:aws:iam::${cloud.admin.accountId}:user/\${aws:username}` });
  for (const u of ['carl', 'dora']) await admin.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 'self', PolicyDocument: self }));
  const own = await aws(carl, 'iam', 'get-user', '--user-name', 'carl');
  assert.ok(own.ok, own.err);
  assert.equal(JSON.parse(own.out).User.UserName, 'carl');
  const other = await aws(carl, 'iam', 'get-user', '--user-name', 'dora');
  assert.equal(other.ok, false);
  assert.match(other.err, /AccessDenied/);
  assert.ok((await aws(dora, 'iam', 'list-access-keys', '--user-name', 'dora')).ok);
  assert.match((await aws(dora, 'iam', 'list-access-keys', '--user-name', 'carl')).err, /AccessDenied/);

  // a SourceIp condition that excludes loopback
  const put = await aws(cloud.admin, 'iam', 'put-user-policy', '--user-name', 'carl', '--policy-name', 'net', '--policy-document',
    doc({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } }));
  assert.ok(put.ok, put.err);
  assert.match((await aws(carl, 'iam', 'list-users')).err, /AccessDenied/);
  await aws(cloud.admin, 'iam', 'put-user-policy', '--user-name', 'carl', '--policy-name', 'net', '--policy-document',
    doc({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }));
  assert.ok((await aws(carl, 'iam', 'list-users')).ok, 'allowed from loopback');
  await aws(cloud.admin, 'iam', 'put-user-policy', '--user-name', 'carl', '--policy-name', 'net2', '--policy-document',
    doc({ Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } }));
  assert.match((await aws(carl, 'iam', 'list-users')).err, /AccessDenied/, 'NotIpAddress deny wins');
  // malformed documents get AWS's error
  const bad = await aws(cloud.admin, 'iam', 'put-user-policy', '--user-name', 'carl', '--policy-name', 'bad', '--policy-document', '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}');
  assert.match(bad.err, /MalformedPolicyDocument.*Policy statement must contain actions/);
});

test('managed policies: attach, versions take effect at once, entities listed; documents URL-encoded (boto3 decodes)', async () => {
  const admin = iamAs();
  const erin = await newUser(admin, 'erin');
  const p = await admin.send(new CreatePolicyCommand({ PolicyName: 'ListOnly', PolicyDocument: doc({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }) }));
  await admin.send(new AttachUserPolicyCommand({ UserName: 'erin', PolicyArn: p.Policy!.Arn }));
  assert.ok((await iamAs(erin).send(new ListUsersCommand({}))).Users);
  const ents = await admin.send(new ListEntitiesForPolicyCommand({ PolicyArn: p.Policy!.Arn }));
  assert.deepEqual(ents.PolicyUsers?.map((u) => u.UserName), ['erin']);
  await admin.send(new CreatePolicyVersionCommand({ PolicyArn: p.Policy!.Arn, PolicyDocument: doc({ Effect: 'Allow', Action: 'iam:ListGroups', Resource: '*' }), SetAsDefault: true }));
  await assert.rejects(iamAs(erin).send(new ListUsersCommand({})), errName('AccessDenied'), 'the new default version applies at once');
  await admin.send(new DetachUserPolicyCommand({ UserName: 'erin', PolicyArn: p.Policy!.Arn }));
  await assert.rejects(iamAs(erin).send(new ListGroupsCommand({})), errName('AccessDenied'));

  const policy = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/a b&c/*' });
  await admin.send(new PutUserPolicyCommand({ UserName: 'erin', PolicyName: 'enc', PolicyDocument: policy }));
  const raw = await admin.send(new GetUserPolicyCommand({ UserName: 'erin', PolicyName: 'enc' }));
  assert.equal(decodeURIComponent(raw.PolicyDocument!), policy, 'URL-encoded on the wire, as AWS');
  const viaBoto = await boto3(cloud.admin, "print(json.dumps(iam.get_user_policy(UserName='erin', PolicyName='enc')['PolicyDocument']))");
  assert.deepEqual(JSON.parse(viaBoto), JSON.parse(policy), 'boto3 decodes the document');
  const summary = await admin.send(new GetAccountSummaryCommand({}));
  assert.ok((summary.SummaryMap?.Users ?? 0) >= 2);
  assert.ok((summary.SummaryMap?.Policies ?? 0) >= 1);
  await admin.send(new CreateLoginProfileCommand({ UserName: 'erin', Password: 'a-good-password', PasswordResetRequired: true }));
  await admin.send(new DeleteUserPolicyCommand({ UserName: 'erin', PolicyName: 'enc' }));
});

test('cross-account AssumeRole: trusted account only; session works until expiry, then ExpiredToken', async () => {
  const a = cloud.admin.accountId;
  const { account: b } = await cloud.iam.createAccount('trusted-b');
  const { account: c } = await cloud.iam.createAccount('stranger-c');
  const bKey = await cloud.iam.createAccessKey(b.accountId, 'admin');
  const cKey = await cloud.iam.createAccessKey(c.accountId, 'admin');
  const bAdmin = { accessKeyId: bKey.accessKeyId, secretAccessKey: bKey.secretAccessKey };
  const cAdmin = { accessKeyId: cKey.accessKeyId, secretAccessKey: cKey.secretAccessKey };
  const admin = iamAs();
  const role = await admin.send(new CreateRoleCommand({
    RoleName: 'deployer',
    AssumeRolePolicyDocument: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${b.accountId}:root` }, Action: 'sts:AssumeRole' }),
  }));
  await admin.send(new PutRolePolicyCommand({ RoleName: 'deployer', PolicyName: 'p', PolicyDocument: doc({ Effect: 'Allow', Action: ['iam:ListUsers', 'iam:GetUser'], Resource: '*' }) }));

  await assert.rejects(stsAs(cAdmin).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'xx' })), errName('AccessDenied'), 'an untrusted account');
  await assert.rejects(stsAs().send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'xx' })), errName('AccessDenied'), 'the own account is not named');
  await assert.rejects(stsAs(bAdmin).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'xx', DurationSeconds: 7200 })), errName('ValidationError'), 'beyond MaxSessionDuration');

  const r = await stsAs(bAdmin).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'ci-run', DurationSeconds: 900 }));
  const creds = { accessKeyId: r.Credentials!.AccessKeyId!, secretAccessKey: r.Credentials!.SecretAccessKey!, sessionToken: r.Credentials!.SessionToken! };
  assert.match(creds.accessKeyId, /^ASIA/);
  assert.equal(r.AssumedRoleUser?.Arn, `arn:aws:sts::${a}:assumed-role/deployer/ci-run`);
  const who = await stsAs(creds).send(new GetCallerIdentityCommand({}));
  assert.equal(who.Arn, `arn:aws:sts::${a}:assumed-role/deployer/ci-run`);
  assert.equal(who.Account, a);
  assert.ok((await iamAs(creds).send(new ListUsersCommand({}))).Users, 'the role policy applies');
  await assert.rejects(iamAs(creds).send(new CreateUserCommand({ UserName: 'nope' })), errName('AccessDenied'), 'only what the role allows');
  await assert.rejects(iamAs({ ...creds, sessionToken: undefined as unknown as string }).send(new ListUsersCommand({})), (e: Error) => /Token|Signature|security token/i.test(`${e.name} ${e.message}`));
  // boto3 and the aws CLI with the session credentials
  assert.equal(await boto3(creds, "print(sts.get_caller_identity()['Arn'])"), who.Arn);
  const cli = await aws(creds, 'sts', 'get-caller-identity');
  assert.ok(cli.ok, cli.err);
  assert.equal(JSON.parse(cli.out).Arn, who.Arn);

  // session policy: the intersection
  const narrowed = await stsAs(bAdmin).send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'narrow', Policy: doc({ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }) }));
  const n = { accessKeyId: narrowed.Credentials!.AccessKeyId!, secretAccessKey: narrowed.Credentials!.SecretAccessKey!, sessionToken: narrowed.Credentials!.SessionToken! };
  await assert.rejects(iamAs(n).send(new ListUsersCommand({})), errName('AccessDenied'), 'outside the session policy');
  assert.equal((await iamAs(n).send(new GetUserCommand({ UserName: 'admin' }))).User?.UserName, 'admin');

  // expiry: the session's end passes (moved into the past, as time would), and every call answers ExpiredToken
  await cloud.database.db.updateTable('sts_sessions').set({ expires_at: Date.now() - 1000 }).where('access_key_id', '=', creds.accessKeyId).execute();
  await cloud.sts.purgeExpired();
  await assert.rejects(stsAs(creds).send(new GetCallerIdentityCommand({})), errName('ExpiredToken'));
  await assert.rejects(iamAs(creds).send(new ListUsersCommand({})), errName('ExpiredToken'));
  const cliExpired = await aws(creds, 'sts', 'get-caller-identity');
  assert.match(cliExpired.err, /ExpiredToken/);
});

test('GetSessionToken: temporary credentials of a user carry its policies', async () => {
  const admin = iamAs();
  const fay = await newUser(admin, 'fay');
  await admin.send(new PutUserPolicyCommand({ UserName: 'fay', PolicyName: 'p', PolicyDocument: doc({ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }) }));
  const t = await stsAs(fay).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
  const creds = { accessKeyId: t.Credentials!.AccessKeyId!, secretAccessKey: t.Credentials!.SecretAccessKey!, sessionToken: t.Credentials!.SessionToken! };
  assert.ok(Math.abs(t.Credentials!.Expiration!.getTime() - Date.now() - 900_000) < 60_000);
  assert.ok((await iamAs(creds).send(new ListUsersCommand({}))).Users);
  await assert.rejects(iamAs(creds).send(new ListGroupsCommand({})), errName('AccessDenied'));
  await assert.rejects(stsAs(creds).send(new GetSessionTokenCommand({})), errName('AccessDenied'), 'not with session credentials');
  await assert.rejects(stsAs(fay).send(new GetSessionTokenCommand({ DurationSeconds: 100 })), errName('ValidationError'));
});

test('Limit quota: an account allowed 2 users cannot create a third; the error names the limit', async () => {
  const { account } = await cloud.iam.createAccount('quota-q');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  const qAdmin = iamAs({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  // what `euca accounts quota` does: an account policy with a Limit statement
  await cloud.directory.putInlinePolicy(account.accountId, 'account', account.accountId, 'quota', JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Limit', Action: 'iam:CreateUser', Resource: '*', Condition: { NumericLessThanEquals: { 'iam:quota-usernumber': '2' } } }],
  }));
  await qAdmin.send(new CreateUserCommand({ UserName: 'u1' })); // admin + u1 = 2
  const e = await qAdmin.send(new CreateUserCommand({ UserName: 'u2' })).catch((x: Error) => x);
  assert.equal((e as Error).name, 'LimitExceededException');
  assert.match((e as Error).message, /iam:quota-usernumber: 2/);
  const viaBoto = await boto3({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    "try:\n    iam.create_user(UserName='u3')\n    print('created')\nexcept Exception as e:\n    print(e.response['Error']['Code'])");
  assert.equal(viaBoto, 'LimitExceeded');
  // other accounts are not limited
  await iamAs().send(new CreateUserCommand({ UserName: 'free-1' }));
});

test('EC2 Limit quotas are checked before a launch: InstanceLimitExceeded names the limit', async () => {
  const { account } = await cloud.iam.createAccount('quota-ec2');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  const ec2 = new EC2Client(cloud.clientConfig('ec2', { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey }));
  const { RunInstancesCommand } = await import('@aws-sdk/client-ec2');
  // no quota yet: the launch gets as far as the image lookup
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 3, MaxCount: 3 })), errName('InvalidAMIID.NotFound'));
  await cloud.directory.putInlinePolicy(account.accountId, 'account', account.accountId, 'quota', JSON.stringify({
    Statement: [{ Effect: 'Limit', Action: 'ec2:RunInstances', Resource: '*', Condition: { NumericLessThanEquals: { 'ec2:quota-vminstancenumber': '2', 'ec2:quota-cputotalsize': '3' } } }],
  }));
  const e = await ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 3, MaxCount: 3 })).catch((x: Error) => x);
  assert.equal((e as Error).name, 'InstanceLimitExceeded');
  assert.match((e as Error).message, /ec2:quota-vminstancenumber: 2/);
  // c1.xlarge has 2 cores (Eucalyptus sizes): two of them need 4 > 3 cores
  const big = await ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', InstanceType: 'c1.xlarge', MinCount: 2, MaxCount: 2 })).catch((x: Error) => x);
  assert.equal((big as Error).name, 'InstanceLimitExceeded');
  assert.match((big as Error).message, /ec2:quota-cputotalsize: 3/);
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', InstanceType: 'c1.xlarge', MinCount: 1, MaxCount: 2 })), errName('InvalidAMIID.NotFound'), 'one fits: on to the image');
  // within the quota: passes through to the launch itself
  await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 1, MaxCount: 5 })), errName('InvalidAMIID.NotFound'));
  // the cloud admin is exempt
  await assert.rejects(new EC2Client(cloud.clientConfig('ec2')).send(new RunInstancesCommand({ ImageId: 'emi-00000000', MinCount: 3, MaxCount: 3 })), errName('InvalidAMIID.NotFound'));
});

test('the policy simulator: SimulateCustomPolicy and SimulatePrincipalPolicy on the engine', async () => {
  const { SimulateCustomPolicyCommand, SimulatePrincipalPolicyCommand } = await import('@aws-sdk/client-iam');
  const admin = iamAs();
  const getList = doc({ Sid: 'AllowGetList', Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: '*' }, { Sid: 'DenyReports', Effect: 'Deny', Action: 'iam:*Report', Resource: '*' });
  const r = await admin.send(new SimulateCustomPolicyCommand({
    PolicyInputList: [getList], ActionNames: ['iam:GetUser', 'iam:CreatePolicy', 'iam:GetOrganizationsAccessReport'],
  }));
  assert.deepEqual(r.EvaluationResults?.map((e) => [e.EvalActionName, e.EvalDecision]), [
    ['iam:GetUser', 'allowed'], ['iam:CreatePolicy', 'implicitDeny'], ['iam:GetOrganizationsAccessReport', 'explicitDeny'],
  ]);
  const ip = await admin.send(new SimulateCustomPolicyCommand({
    PolicyInputList: [doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:username}/*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })],
    ActionNames: ['s3:GetObject'], ResourceArns: ['arn:aws:s3:::b/zed/x', 'arn:aws:s3:::b/other/x'],
    ContextEntries: [{ ContextKeyName: 'aws:SourceIp', ContextKeyType: 'ip', ContextKeyValues: ['10.1.2.3'] }, { ContextKeyName: 'aws:username', ContextKeyType: 'string', ContextKeyValues: ['zed'] }],
  }));
  assert.deepEqual(ip.EvaluationResults?.map((e) => e.EvalDecision), ['allowed', 'implicitDeny']);
  await assert.rejects(admin.send(new SimulateCustomPolicyCommand({ PolicyInputList: ['{bad'], ActionNames: ['s3:GetObject'] })), errName('InvalidInputException'));

  await newUser(admin, 'sim');
  await admin.send(new PutUserPolicyCommand({ UserName: 'sim', PolicyName: 'all-iam', PolicyDocument: doc({ Effect: 'Allow', Action: 'iam:*', Resource: '*' }) }));
  await admin.send(new CreateGroupCommand({ GroupName: 'sim-deny' }));
  await admin.send(new AddUserToGroupCommand({ GroupName: 'sim-deny', UserName: 'sim' }));
  await admin.send(new PutGroupPolicyCommand({ GroupName: 'sim-deny', PolicyName: 'no-delete', PolicyDocument: doc({ Effect: 'Deny', Action: 'iam:Delete*', Resource: '*' }) }));
  const pp = await admin.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: `arn:aws:iam::${cloud.admin.accountId}:user/sim`, ActionNames: ['iam:CreateUser', 'iam:DeleteUser', 'ec2:RunInstances'] }));
  assert.deepEqual(pp.EvaluationResults?.map((e) => [e.EvalDecision, e.MatchedStatements?.[0]?.SourcePolicyId ?? '-', e.MatchedStatements?.[0]?.SourcePolicyType ?? '-']), [
    ['allowed', 'all-iam', 'user'], ['explicitDeny', 'no-delete', 'group'], ['implicitDeny', '-', '-'],
  ]);
});

test('S3 through IAM: denied without a policy, allowed after put-user-policy, ${aws:username} prefixes, session credentials', async () => {
  const { S3Client, ListBucketsCommand, CreateBucketCommand, PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3As = (c: Creds) => new S3Client({ endpoint: cloud.endpoints.walrus, region: 'eucalyptus', forcePathStyle: true, credentials: c, maxAttempts: 1 });
  const admin = iamAs();
  const bucket = `home-${Date.now().toString(36)}`;
  await s3As(cloud.admin).send(new CreateBucketCommand({ Bucket: bucket }));
  const gus = await newUser(admin, 'gus');
  const hal = await newUser(admin, 'hal');
  await assert.rejects(s3As(gus).send(new ListBucketsCommand({})), errName('AccessDenied'));
  const home = doc(
    { Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' },
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${bucket}/home/\${aws:username}/*` },
  );
  for (const u of ['gus', 'hal']) await admin.send(new PutUserPolicyCommand({ UserName: u, PolicyName: 'home', PolicyDocument: home }));
  assert.ok((await s3As(gus).send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === bucket), 'allowed once the policy is in place');
  await s3As(gus).send(new PutObjectCommand({ Bucket: bucket, Key: 'home/gus/a.txt', Body: 'mine' }));
  await assert.rejects(s3As(gus).send(new PutObjectCommand({ Bucket: bucket, Key: 'home/hal/a.txt', Body: 'not mine' })), errName('AccessDenied'));
  await s3As(hal).send(new PutObjectCommand({ Bucket: bucket, Key: 'home/hal/a.txt', Body: 'hal' }));
  await assert.rejects(s3As(hal).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/gus/a.txt' })), errName('AccessDenied'));
  assert.equal(await (await s3As(gus).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/gus/a.txt' }))).Body!.transformToString(), 'mine');
  // temporary credentials of gus are accepted by S3 and carry his policies
  const t = await stsAs(gus).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
  const tc = { accessKeyId: t.Credentials!.AccessKeyId!, secretAccessKey: t.Credentials!.SecretAccessKey!, sessionToken: t.Credentials!.SessionToken! };
  assert.equal(await (await s3As(tc).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/gus/a.txt' }))).Body!.transformToString(), 'mine');
  await assert.rejects(s3As(tc).send(new GetObjectCommand({ Bucket: bucket, Key: 'home/hal/a.txt' })), errName('AccessDenied'));
});

test('Marker/MaxItems pagination as AWS: SDK v3 paginator and boto3 paginator see every item once', async () => {
  const { paginateListGroups, paginateListPolicies } = await import('@aws-sdk/client-iam');
  const admin = iamAs();
  const names = Array.from({ length: 7 }, (_, i) => `pg-${String(i).padStart(2, '0')}`);
  for (const n of names) {
    await admin.send(new CreateGroupCommand({ GroupName: n, Path: '/paged/' }));
    await admin.send(new CreatePolicyCommand({ PolicyName: n, Path: '/paged/', PolicyDocument: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) }));
  }
  const seen: string[] = [];
  let pages = 0;
  for await (const page of paginateListGroups({ client: admin, pageSize: 3 }, { PathPrefix: '/paged/' })) {
    pages++;
    seen.push(...(page.Groups ?? []).map((g) => g.GroupName!));
  }
  assert.deepEqual(seen, names);
  assert.equal(pages, 3);
  const pols: string[] = [];
  for await (const page of paginateListPolicies({ client: admin, pageSize: 2 }, { Scope: 'Local', PathPrefix: '/paged/' })) pols.push(...(page.Policies ?? []).map((p) => p.PolicyName!));
  assert.deepEqual(pols, names);
  const viaBoto = await boto3(cloud.admin, `
names = []
pages = 0
for page in iam.get_paginator('list_groups').paginate(PathPrefix='/paged/', PaginationConfig={'PageSize': 2}):
    pages += 1
    names += [g['GroupName'] for g in page['Groups']]
print(json.dumps([pages, names]))`);
  assert.deepEqual(JSON.parse(viaBoto), [4, names]);
});

test('AWS managed policies: AdministratorAccess and ReadOnlyAccess attach and apply; they cannot be changed', async () => {
  const { ListPoliciesCommand, GetPolicyVersionCommand, DeletePolicyCommand } = await import('@aws-sdk/client-iam');
  const admin = iamAs();
  const ivy = await newUser(admin, 'ivy');
  await assert.rejects(iamAs(ivy).send(new ListUsersCommand({})), errName('AccessDenied'));
  const ro = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  await admin.send(new AttachUserPolicyCommand({ UserName: 'ivy', PolicyArn: ro }));
  assert.ok((await iamAs(ivy).send(new ListUsersCommand({}))).Users);
  await assert.rejects(iamAs(ivy).send(new CreateUserCommand({ UserName: 'x-ivy' })), errName('AccessDenied'));
  await admin.send(new AttachUserPolicyCommand({ UserName: 'ivy', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }));
  await iamAs(ivy).send(new CreateUserCommand({ UserName: 'x-ivy' }));
  const awsList = await admin.send(new ListPoliciesCommand({ Scope: 'AWS' }));
  assert.ok(awsList.Policies?.some((p) => p.Arn === ro && p.AttachmentCount === 1));
  const v = await admin.send(new GetPolicyVersionCommand({ PolicyArn: ro, VersionId: 'v1' }));
  assert.match(decodeURIComponent(v.PolicyVersion!.Document!), /iam:List\*/);
  await assert.rejects(admin.send(new DeletePolicyCommand({ PolicyArn: ro })), errName('AccessDenied'));
  const cli = await aws(cloud.admin, 'iam', 'list-attached-user-policies', '--user-name', 'ivy');
  assert.deepEqual(JSON.parse(cli.out).AttachedPolicies.map((p: { PolicyName: string }) => p.PolicyName), ['AdministratorAccess', 'ReadOnlyAccess']);
});

test('GetAccountAuthorizationDetails: users, groups, roles and policies with their documents; filter and pages (boto3)', async () => {
  const { account } = await cloud.iam.createAccount('audit-a');
  const key = await cloud.iam.createAccessKey(account.accountId, 'admin');
  const creds = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  const a = iamAs(creds);
  await a.send(new CreateUserCommand({ UserName: 'u1' }));
  await a.send(new CreateGroupCommand({ GroupName: 'g1' }));
  await a.send(new AddUserToGroupCommand({ GroupName: 'g1', UserName: 'u1' }));
  const userDoc = doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' });
  await a.send(new PutUserPolicyCommand({ UserName: 'u1', PolicyName: 'read', PolicyDocument: userDoc }));
  await a.send(new CreateRoleCommand({ RoleName: 'r1', AssumeRolePolicyDocument: doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }) }));
  const p = await a.send(new CreatePolicyCommand({ PolicyName: 'p1', PolicyDocument: userDoc }));
  await a.send(new AttachUserPolicyCommand({ UserName: 'u1', PolicyArn: p.Policy!.Arn }));
  await a.send(new AttachUserPolicyCommand({ UserName: 'u1', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }));
  const out = JSON.parse(await boto3(creds, `
d = iam.get_account_authorization_details()
u = [x for x in d['UserDetailList'] if x['UserName'] == 'u1'][0]
print(json.dumps({'users': sorted(x['UserName'] for x in d['UserDetailList']), 'groups': [x['GroupName'] for x in d['GroupDetailList']],
  'roles': [x['RoleName'] for x in d['RoleDetailList']], 'policies': sorted(x['PolicyName'] for x in d['Policies']),
  'u1groups': u['GroupList'], 'u1inline': u['UserPolicyList'][0]['PolicyDocument'], 'u1attached': sorted(x['PolicyName'] for x in u['AttachedManagedPolicies']),
  'roleTrust': d['RoleDetailList'][0]['AssumeRolePolicyDocument']['Statement'][0]['Principal'],
  'onlyRoles': len(iam.get_account_authorization_details(Filter=['Role'])['UserDetailList']),
  'pages': sum(1 for _ in iam.get_paginator('get_account_authorization_details').paginate(PaginationConfig={'PageSize': 2}))}))`));
  assert.deepEqual(out.users, ['admin', 'u1']);
  assert.deepEqual(out.groups, ['g1']);
  assert.deepEqual(out.roles, ['r1']);
  assert.deepEqual(out.policies, ['ReadOnlyAccess', 'p1']);
  assert.deepEqual(out.u1groups, ['g1']);
  assert.deepEqual(out.u1inline, JSON.parse(userDoc), 'boto3 decodes the URL-encoded document');
  assert.deepEqual(out.u1attached, ['ReadOnlyAccess', 'p1']);
  assert.deepEqual(out.roleTrust, { Service: 'ec2.amazonaws.com' });
  assert.equal(out.onlyRoles, 0);
  assert.equal(out.pages, 3, '6 entities, 2 per page');
});

test('ABAC: aws:PrincipalTag from the user tags, in conditions and variables; a tag change applies at once', async () => {
  const { TagUserCommand, UntagUserCommand } = await import('@aws-sdk/client-iam');
  const admin = iamAs();
  const jo = await newUser(admin, 'jo');
  await admin.send(new PutUserPolicyCommand({ UserName: 'jo', PolicyName: 'abac', PolicyDocument: doc(
    { Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalTag/team': 'red' } } },
    { Effect: 'Allow', Action: 'iam:GetGroup', Resource: `arn:aws:iam::${cloud.admin.accountId}:group/\${aws:PrincipalTag/team}` },
  ) }));
  await admin.send(new CreateGroupCommand({ GroupName: 'red' }));
  await admin.send(new CreateGroupCommand({ GroupName: 'blue' }));
  await assert.rejects(iamAs(jo).send(new ListUsersCommand({})), errName('AccessDenied'));
  await admin.send(new TagUserCommand({ UserName: 'jo', Tags: [{ Key: 'team', Value: 'red' }] }));
  assert.ok((await iamAs(jo).send(new ListUsersCommand({}))).Users, 'tagged: allowed at once');
  const { GetGroupCommand } = await import('@aws-sdk/client-iam');
  assert.equal((await iamAs(jo).send(new GetGroupCommand({ GroupName: 'red' }))).Group?.GroupName, 'red');
  await assert.rejects(iamAs(jo).send(new GetGroupCommand({ GroupName: 'blue' })), errName('AccessDenied'));
  await admin.send(new UntagUserCommand({ UserName: 'jo', TagKeys: ['team'] }));
  await assert.rejects(iamAs(jo).send(new ListUsersCommand({})), errName('AccessDenied'), 'untagged: denied at once');
});
