import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthzRequest, Principal } from '../../shared/index.js';
import { authorize, authorizeAll, PolicySet, type AuthorizeInput } from './evaluate.js';
import { parsePolicy, type CompiledPolicy } from './parse.js';
import { ACCOUNT, OTHER_ACCOUNT, anonymousPrincipal, env, roleSession, userPrincipal } from './testing.js';

const V = '2012-10-17';
const idp = (...statements: unknown[]): CompiledPolicy => parsePolicy(JSON.stringify({ Version: V, Statement: statements }));
const rp = (...statements: unknown[]): CompiledPolicy => parsePolicy(JSON.stringify({ Version: V, Statement: statements }), { kind: 'resource' });
const tp = (...statements: unknown[]): CompiledPolicy => parsePolicy(JSON.stringify({ Version: V, Statement: statements }), { kind: 'trust' });

function decide(principal: Principal, identity: CompiledPolicy[], request: AuthzRequest, extra: Partial<AuthorizeInput> = {}): string {
  return authorize({ principal, identityPolicies: identity, request, env: env(), ...extra }).decision;
}

const alice = userPrincipal('alice');
const get = (r: string, account?: string): AuthzRequest => ({ action: 's3:GetObject', resources: [r], ...(account ? { resourceAccount: account } : {}) });

test('Eucalyptus order: cloud admin, account admin, others need an Allow', () => {
  const cloudAdmin: Principal = { ...userPrincipal('admin', { accountId: '000000000001' }), isCloudAdmin: true };
  const denyAll = idp({ Effect: 'Deny', Action: '*', Resource: '*' });
  assert.equal(decide(cloudAdmin, [denyAll], get('arn:aws:s3:::b/k', ACCOUNT)), 'Allow', 'cloud admin: everything, everywhere');
  const admin = userPrincipal('admin');
  assert.equal(decide(admin, [], get('arn:aws:s3:::b/k', ACCOUNT)), 'Allow', 'account admin in its account');
  assert.equal(decide(admin, [], get('arn:aws:s3:::b/k', OTHER_ACCOUNT)), 'ImplicitDeny', 'account admin elsewhere needs a grant');
  assert.equal(decide(alice, [], get('arn:aws:s3:::b/k')), 'ImplicitDeny', 'default deny');
  assert.equal(decide(alice, [idp({ Effect: 'Allow', Action: 's3:*', Resource: '*' })], get('arn:aws:s3:::b/k')), 'Allow');
});

test('explicit Deny beats Allow, across policies (user and group)', () => {
  const userAllow = idp({ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'iam:ListUsers'], Resource: '*' });
  const groupDeny = idp({ Sid: 'NoIam', Effect: 'Deny', Action: 'iam:ListUsers', Resource: '*' });
  const r = authorize({ principal: alice, identityPolicies: [userAllow, groupDeny], request: { action: 'iam:ListUsers', resources: ['*'] }, env: env() });
  assert.equal(r.decision, 'ExplicitDeny');
  assert.equal(r.matchedStatement?.sid, 'NoIam');
  assert.equal(r.matchedStatement?.source, 'identity');
  assert.equal(decide(alice, [userAllow, groupDeny], { action: 'ec2:DescribeInstances', resources: ['*'] }), 'Allow');
});

test('actions: case-insensitive with * and ?; resources: case-sensitive', () => {
  const p = idp({ Effect: 'Allow', Action: ['ec2:Describe*', 's3:?etObject'], Resource: ['arn:aws:s3:::Bucket/*', '*'] });
  assert.equal(decide(alice, [p], { action: 'EC2:describeinstances', resources: ['*'] }), 'Allow');
  assert.equal(decide(alice, [p], { action: 's3:GETOBJECT', resources: ['*'] }), 'Allow');
  assert.equal(decide(alice, [p], { action: 's3:PutObject', resources: ['*'] }), 'ImplicitDeny', '? is one character');
  assert.equal(decide(alice, [p], { action: 's3:SetObject', resources: ['*'] }), 'Allow');
  assert.equal(decide(alice, [p], { action: 's3:DeleteObject', resources: ['*'] }), 'ImplicitDeny');
  const q = idp({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::Bucket/*' });
  assert.equal(decide(alice, [q], get('arn:aws:s3:::Bucket/k')), 'Allow');
  assert.equal(decide(alice, [q], get('arn:aws:s3:::bucket/k')), 'ImplicitDeny', 'resource ARNs are case-sensitive');
  assert.equal(decide(alice, [q], get('arn:aws:s3:::Bucket')), 'ImplicitDeny');
  const star = idp({ Effect: 'Allow', Action: '*', Resource: '*' });
  assert.equal(decide(alice, [star], { action: 'anything:AtAll', resources: ['arn:aws:x:::y'] }), 'Allow');
});

test('NotAction and NotResource', () => {
  // "everything but IAM"
  const notIam = idp({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' });
  assert.equal(decide(alice, [notIam], { action: 'ec2:RunInstances', resources: ['*'] }), 'Allow');
  assert.equal(decide(alice, [notIam], { action: 'iam:CreateUser', resources: ['*'] }), 'ImplicitDeny');
  // deny everything except one bucket (AWS example "restrict management to a specific S3 bucket")
  const onlyBucket = [
    idp({ Effect: 'Allow', Action: 's3:*', Resource: ['arn:aws:s3:::bucket-name', 'arn:aws:s3:::bucket-name/*'] }),
    idp({ Effect: 'Deny', NotAction: 's3:*', NotResource: ['arn:aws:s3:::bucket-name', 'arn:aws:s3:::bucket-name/*'] }),
    idp({ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }),
  ];
  assert.equal(decide(alice, onlyBucket, get('arn:aws:s3:::bucket-name/k')), 'Allow');
  assert.equal(decide(alice, onlyBucket, { action: 'ec2:RunInstances', resources: ['*'] }), 'ExplicitDeny', 'NotAction+NotResource deny');
  assert.equal(decide(alice, onlyBucket, get('arn:aws:s3:::other/k')), 'ImplicitDeny');
  // NotResource with a variable that cannot resolve: the statement does not apply
  const nr = idp({ Effect: 'Deny', Action: 's3:*', NotResource: 'arn:aws:s3:::home/${aws:username}/*' });
  assert.equal(decide(alice, [nr, idp({ Effect: 'Allow', Action: 's3:*', Resource: '*' })], get('arn:aws:s3:::home/bob/x')), 'ExplicitDeny');
  assert.equal(decide(alice, [nr, idp({ Effect: 'Allow', Action: 's3:*', Resource: '*' })], get('arn:aws:s3:::home/alice/x')), 'Allow');
});

test('every resource of a request must be allowed', () => {
  const p = idp({ Effect: 'Allow', Action: 'ec2:RunInstances', Resource: ['arn:aws:ec2:*::image/*', 'arn:aws:ec2:*:*:instance/*'] });
  const req = (...resources: string[]): AuthzRequest => ({ action: 'ec2:RunInstances', resources });
  assert.equal(decide(alice, [p], req('arn:aws:ec2:r1::image/emi-1', `arn:aws:ec2:r1:${ACCOUNT}:instance/*`)), 'Allow');
  const r = authorize({ principal: alice, identityPolicies: [p], request: req('arn:aws:ec2:r1::image/emi-1', `arn:aws:ec2:r1:${ACCOUNT}:key-pair/k`), env: env() });
  assert.equal(r.decision, 'ImplicitDeny');
  assert.equal(r.resource, `arn:aws:ec2:r1:${ACCOUNT}:key-pair/k`);
  assert.equal(decide(alice, [p], req()), 'ImplicitDeny', 'no resources means "*"');
});

test('global condition keys come from the principal and the environment', () => {
  const cond = (op: string, key: string, value: unknown): CompiledPolicy => idp({ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*', Condition: { [op]: { [key]: value } } });
  const req: AuthzRequest = { action: 'sts:GetCallerIdentity', resources: ['*'] };
  const cases: Array<[CompiledPolicy, Principal, boolean, Partial<ReturnType<typeof env>>?]> = [
    [cond('StringEquals', 'aws:username', 'alice'), alice, true],
    [cond('StringEquals', 'AWS:UserName', 'alice'), alice, true], // keys are case-insensitive
    [cond('StringEquals', 'aws:userid', alice.userId), alice, true],
    [cond('StringEquals', 'aws:PrincipalAccount', ACCOUNT), alice, true],
    [cond('StringEquals', 'aws:PrincipalAccount', OTHER_ACCOUNT), alice, false],
    [cond('ArnEquals', 'aws:PrincipalArn', `arn:aws:iam::${ACCOUNT}:user/alice`), alice, true],
    [cond('ArnEquals', 'aws:PrincipalArn', `arn:aws:iam::${ACCOUNT}:role/r`), roleSession('r', 's'), true],
    [cond('StringEquals', 'aws:PrincipalType', 'User'), alice, true],
    [cond('StringEquals', 'aws:PrincipalType', 'AssumedRole'), roleSession('r', 's'), true],
    [cond('StringLike', 'aws:userid', 'AROA*:s'), roleSession('r', 's'), true],
    [cond('Null', 'aws:username', 'true'), roleSession('r', 's'), true],
    [cond('IpAddress', 'aws:SourceIp', '127.0.0.0/8'), alice, true, { sourceIp: '::ffff:127.0.0.1' }],
    [cond('NotIpAddress', 'aws:SourceIp', '127.0.0.1/32'), alice, false],
    [cond('DateLessThan', 'aws:CurrentTime', '2026-06-15T12:00:01Z'), alice, true],
    [cond('DateGreaterThan', 'aws:CurrentTime', '2026-06-15T12:00:01Z'), alice, false],
    [cond('NumericGreaterThan', 'aws:EpochTime', '1781524799'), alice, true],
    [cond('DateLessThan', 'aws:EpochTime', '2026-06-15T12:00:01Z'), alice, true],
    [cond('Bool', 'aws:SecureTransport', 'true'), alice, true, { secure: true }],
    [cond('Bool', 'aws:SecureTransport', 'true'), alice, false],
    [cond('StringEquals', 'aws:RequestedRegion', 'eucalyptus'), alice, true],
  ];
  for (const [p, principal, allowed, e] of cases) {
    const d = authorize({ principal, identityPolicies: [p], request: req, env: env(e) }).decision;
    assert.equal(d, allowed ? 'Allow' : 'ImplicitDeny', JSON.stringify(p.statements[0]!.conditions.map((c) => [c.operator, c.key, c.values])));
  }
});

test('a request cannot spoof global keys through its service condition keys', () => {
  const p = idp({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { StringEquals: { 'aws:username': 'root' } } });
  assert.equal(decide(alice, [p], { action: 's3:GetObject', resources: ['*'], conditions: { 'aws:username': 'root', 'AWS:USERNAME': 'root' } }), 'ImplicitDeny');
});

test('resource policies: principals, same account and cross-account', () => {
  const bucket = 'arn:aws:s3:::shared/k';
  const grantAlice = rp({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });
  assert.equal(decide(alice, [], get(bucket, ACCOUNT), { resourcePolicy: grantAlice }), 'Allow', 'same account: a direct grant suffices');
  assert.equal(decide(userPrincipal('bob'), [], get(bucket, ACCOUNT), { resourcePolicy: grantAlice }), 'ImplicitDeny');

  const grantAccount = rp({ Effect: 'Allow', Principal: { AWS: OTHER_ACCOUNT }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });
  const carol = userPrincipal('carol', { accountId: OTHER_ACCOUNT });
  const carolAllow = idp({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
  assert.equal(decide(carol, [carolAllow], get(bucket, ACCOUNT), { resourcePolicy: grantAccount }), 'Allow', 'cross-account: grant + own allow');
  assert.equal(decide(carol, [], get(bucket, ACCOUNT), { resourcePolicy: grantAccount }), 'ImplicitDeny', 'cross-account: own account must allow');
  assert.equal(decide(carol, [carolAllow], get(bucket, ACCOUNT)), 'ImplicitDeny', 'cross-account: no resource policy');
  assert.equal(decide(carol, [carolAllow], get(bucket, ACCOUNT), { resourcePolicy: grantAlice }), 'ImplicitDeny', 'cross-account: policy names someone else');
  const otherAdmin = userPrincipal('admin', { accountId: OTHER_ACCOUNT });
  assert.equal(decide(otherAdmin, [], get(bucket, ACCOUNT), { resourcePolicy: grantAccount }), 'Allow', "cross-account: the other account's admin");
  const rootArn = rp({ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${OTHER_ACCOUNT}:root`] }, Action: 's3:*', Resource: '*' });
  assert.equal(decide(carol, [carolAllow], get(bucket, ACCOUNT), { resourcePolicy: rootArn }), 'Allow', ':root names the account');
  const carolDeny = idp({ Effect: 'Deny', Action: 's3:*', Resource: '*' });
  assert.equal(decide(carol, [carolAllow, carolDeny], get(bucket, ACCOUNT), { resourcePolicy: rootArn }), 'ExplicitDeny');

  const everyone = rp({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/*' });
  assert.equal(decide(anonymousPrincipal(), [], get(bucket, ACCOUNT), { resourcePolicy: everyone }), 'Allow', 'public read');
  assert.equal(decide(anonymousPrincipal(), [], { action: 's3:PutObject', resources: [bucket], resourceAccount: ACCOUNT }, { resourcePolicy: everyone }), 'ImplicitDeny');
  assert.equal(decide(anonymousPrincipal(), [], get(bucket, ACCOUNT), { resourcePolicy: grantAccount }), 'ImplicitDeny');
  const awsStar = rp({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: '*' });
  assert.equal(decide(alice, [], get(bucket, ACCOUNT), { resourcePolicy: awsStar }), 'Allow');

  // a Deny in the resource policy binds everyone but the cloud admin, the account admin included
  const denyAll = rp({ Sid: 'Lock', Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: '*' });
  const r = authorize({ principal: userPrincipal('admin'), identityPolicies: [], resourcePolicy: denyAll, request: { action: 's3:DeleteObject', resources: [bucket], resourceAccount: ACCOUNT }, env: env() });
  assert.equal(r.decision, 'ExplicitDeny');
  assert.equal(r.matchedStatement?.source, 'resource');
  assert.equal(r.matchedStatement?.sid, 'Lock');
  // NotPrincipal: deny everyone except alice
  const onlyAlice = rp(
    { Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, Action: 's3:*', Resource: '*' },
    { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 's3:*', Resource: '*' },
  );
  const allowS3 = idp({ Effect: 'Allow', Action: 's3:*', Resource: '*' });
  assert.equal(decide(alice, [allowS3], get(bucket, ACCOUNT), { resourcePolicy: onlyAlice }), 'Allow');
  assert.equal(decide(userPrincipal('bob'), [allowS3], get(bucket, ACCOUNT), { resourcePolicy: onlyAlice }), 'ExplicitDeny');
  // same account, the account named: identity must allow
  assert.equal(decide(userPrincipal('bob'), [], get(bucket, ACCOUNT), { resourcePolicy: grantAccount }), 'ImplicitDeny');
  // Service principals
  const svc = rp({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 's3:GetObject', Resource: '*' });
  assert.equal(decide(anonymousPrincipal(), [], get(bucket, ACCOUNT), { resourcePolicy: svc, env: env({ servicePrincipal: 'ec2.amazonaws.com' }) }), 'Allow');
  assert.equal(decide(anonymousPrincipal(), [], get(bucket, ACCOUNT), { resourcePolicy: svc }), 'ImplicitDeny');
});

test('trust policies: the role trusts named accounts and principals only', () => {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/deployer`;
  const assume = (p: Principal, identity: CompiledPolicy[], trust: CompiledPolicy): string =>
    decide(p, identity, { action: 'sts:AssumeRole', resources: [roleArn], resourceAccount: ACCOUNT }, { resourcePolicy: trust, requireResourceGrant: true });
  const trustOther = tp({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` }, Action: 'sts:AssumeRole' });
  const allowAssume = idp({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' });
  assert.equal(assume(userPrincipal('carol', { accountId: OTHER_ACCOUNT }), [allowAssume], trustOther), 'Allow');
  assert.equal(assume(userPrincipal('carol', { accountId: OTHER_ACCOUNT }), [], trustOther), 'ImplicitDeny', 'caller must be allowed sts:AssumeRole');
  assert.equal(assume(userPrincipal('admin', { accountId: OTHER_ACCOUNT }), [], trustOther), 'Allow', 'the trusted account admin');
  assert.equal(assume(userPrincipal('dave', { accountId: '333333333333' }), [allowAssume], trustOther), 'ImplicitDeny', 'an untrusted account');
  assert.equal(assume(alice, [allowAssume], trustOther), 'ImplicitDeny', 'the own account is not trusted: identity alone is not enough');
  assert.equal(assume(userPrincipal('admin'), [], trustOther), 'ImplicitDeny', 'not even the own admin');
  const trustAlice = tp({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'sts:AssumeRole' });
  assert.equal(assume(alice, [], trustAlice), 'Allow', 'a directly trusted user needs no identity policy');
  const trustOwn = tp({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  assert.equal(assume(alice, [allowAssume], trustOwn), 'Allow');
  assert.equal(assume(alice, [], trustOwn), 'ImplicitDeny');
});

test('role sessions: role policies, session policy intersection, resource grants to role and session', () => {
  const rolePolicies = [idp({ Effect: 'Allow', Action: ['s3:*', 'ec2:*'], Resource: '*' })];
  const session = [idp({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })];
  const s = roleSession('worker', 'job1');
  assert.equal(decide(s, rolePolicies, get('arn:aws:s3:::b/k')), 'Allow');
  assert.equal(decide(s, rolePolicies, get('arn:aws:s3:::b/k'), { sessionPolicies: session }), 'Allow', 'in both');
  assert.equal(decide(s, rolePolicies, { action: 'ec2:RunInstances', resources: ['*'] }, { sessionPolicies: session }), 'ImplicitDeny', 'outside the session policy');
  assert.equal(decide(s, [], get('arn:aws:s3:::b/k'), { sessionPolicies: session }), 'ImplicitDeny', 'session policies never grant by themselves');
  const sessDeny = [idp({ Effect: 'Deny', Action: 's3:GetObject', Resource: '*' })];
  assert.equal(decide(s, rolePolicies, get('arn:aws:s3:::b/k'), { sessionPolicies: sessDeny }), 'ExplicitDeny');
  const toRole = rp({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/worker` }, Action: 's3:PutObject', Resource: '*' });
  assert.equal(decide(s, [], { action: 's3:PutObject', resources: ['arn:aws:s3:::b/k'], resourceAccount: ACCOUNT }, { resourcePolicy: toRole }), 'Allow', 'role ARN grant');
  assert.equal(decide(s, [], { action: 's3:PutObject', resources: ['arn:aws:s3:::b/k'], resourceAccount: ACCOUNT }, { resourcePolicy: toRole, sessionPolicies: session }), 'ImplicitDeny', 'role ARN grant is limited by the session policy');
  const toSession = rp({ Effect: 'Allow', Principal: { AWS: s.arn }, Action: 's3:PutObject', Resource: '*' });
  assert.equal(decide(s, [], { action: 's3:PutObject', resources: ['arn:aws:s3:::b/k'], resourceAccount: ACCOUNT }, { resourcePolicy: toSession, sessionPolicies: session }), 'Allow', 'session ARN grant is direct');
});

test('Limit statements neither allow nor deny', () => {
  const p = idp({ Effect: 'Limit', Action: 'ec2:RunInstances', Resource: '*', Condition: { NumericLessThanEquals: { 'ec2:quota-vminstancenumber': '1' } } });
  assert.equal(decide(alice, [p], { action: 'ec2:RunInstances', resources: ['*'] }), 'ImplicitDeny');
});

test('authorizeAll: the first request not allowed decides; PolicySet memoizes statements per action', () => {
  const set = new PolicySet([idp({ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }, { Effect: 'Allow', Action: 'ec2:RunInstances', Resource: 'arn:aws:ec2:*::image/*' })]);
  assert.equal(set.statementsFor('ec2:describeimages').length, 1);
  assert.equal(set.statementsFor('ec2:describeimages'), set.statementsFor('ec2:describeimages'));
  assert.equal(set.statementsFor('s3:getobject').length, 0);
  const base = { principal: alice, identityPolicies: set, env: env() };
  assert.equal(authorizeAll(base, [{ action: 'ec2:DescribeImages', resources: ['*'] }, { action: 'ec2:RunInstances', resources: ['arn:aws:ec2:r::image/emi-1'] }]).decision, 'Allow');
  const r = authorizeAll(base, [{ action: 'ec2:DescribeImages', resources: ['*'] }, { action: 'ec2:RunInstances', resources: ['arn:aws:ec2:r:1:instance/*'] }]);
  assert.equal(r.decision, 'ImplicitDeny');
  assert.equal(r.action, 'ec2:RunInstances');
});

test('policy language 2008-10-17: variables are literal', () => {
  const old = parsePolicy(JSON.stringify({ Version: '2008-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/${aws:username}/*' }] }));
  assert.equal(decide(alice, [old], get('arn:aws:s3:::b/alice/x')), 'ImplicitDeny');
  assert.equal(decide(alice, [old], get('arn:aws:s3:::b/${aws:username}/x')), 'Allow');
});
