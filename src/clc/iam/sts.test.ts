import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../db/index.js';
import { IamAuthorizer, IamDirectory, IamStore, StsStore, CombinedCredentialStore, iamMigrations, iamPolicyMigrations, userPrincipal } from './index.js';

const code = (c: string) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  return true;
};
const doc = (...Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement });

async function setup() {
  const d = await openTestDatabase([...iamMigrations, ...iamPolicyMigrations]);
  const iam = new IamStore(d.db);
  const dir = new IamDirectory(d.db);
  let now = Date.UTC(2026, 5, 1);
  const sts = new StsStore(d.db, iam, dir, () => now);
  const { account } = await iam.createAccount('acme');
  const user = await iam.createUser(account.accountId, 'alice');
  const principal = userPrincipal(user, account, 'AKIAEXAMPLE');
  const role = await dir.createRole(account.accountId, 'worker', doc({ Effect: 'Allow', Principal: { AWS: account.accountId }, Action: 'sts:AssumeRole' }), { maxSessionDuration: 7200 });
  return { d, iam, dir, sts, account, user, principal, role, tick: (ms: number) => { now += ms; }, now: () => now };
}

test('GetSessionToken: durations, the user behind it, expiry as ExpiredToken material', async () => {
  const { d, sts, principal, user, tick, now } = await setup();
  try {
    const c = await sts.getSessionToken(principal);
    assert.match(c.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.expiration.getTime(), now() + 43_200_000, '12 h by default');
    await assert.rejects(sts.getSessionToken(principal, 899), code('ValidationError'));
    await assert.rejects(sts.getSessionToken(principal, 129_601), code('ValidationError'));
    const cloudAdmin = { ...principal, isCloudAdmin: true };
    assert.equal((await sts.getSessionToken(cloudAdmin, 129_600)).expiration.getTime(), now() + 3_600_000, 'capped at 1 h for the cloud admin');
    const id = await sts.lookup(c.accessKeyId);
    assert.equal(id?.principal.userId, user.userId);
    assert.equal(id?.principal.kind, 'user');
    assert.equal(id?.sessionToken, c.sessionToken);
    assert.equal(id?.expiresAt?.getTime(), c.expiration.getTime());
    await assert.rejects(sts.getSessionToken(id!.principal), code('AccessDenied'), 'not with session credentials');
    assert.equal(await sts.lookup('ASIAAAAAAAAAAAAAAAAA'), null);
    assert.equal(await sts.lookup('AKIAAAAAAAAAAAAAAAAA'), null, 'long-term keys are not STS keys');
    // expired sessions still resolve (the verifier answers ExpiredToken); purged a day later
    tick(43_200_000 + 1000);
    assert.ok((await sts.lookup(c.accessKeyId))!.expiresAt!.getTime() < now());
    tick(24 * 3600 * 1000);
    assert.ok((await sts.purgeExpired()) >= 1);
    assert.equal(await sts.lookup(c.accessKeyId), null);
  } finally {
    await d.close();
  }
});

test('AssumeRole: session name, durations, role chaining, session policy size; the role-session principal', async () => {
  const { d, iam, sts, principal, role, account } = await setup();
  try {
    await assert.rejects(sts.assumeRole(principal, role, 'bad name'), code('ValidationError'));
    await assert.rejects(sts.assumeRole(principal, role, 's', { durationSeconds: 7201 }), code('ValidationError'));
    const r = await sts.assumeRole(principal, role, 'job-1', { durationSeconds: 7200, policy: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }) });
    assert.equal(r.arn, `arn:aws:sts::${account.accountId}:assumed-role/worker/job-1`);
    assert.equal(r.assumedRoleId, `${role.roleId}:job-1`);
    assert.ok(r.packedPolicySize! > 0 && r.packedPolicySize! <= 100);
    const id = (await sts.lookup(r.credentials.accessKeyId))!;
    assert.equal(id.principal.kind, 'assumed-role');
    assert.equal(id.principal.arn, r.arn);
    assert.equal(id.principal.role?.arn, role.arn);
    assert.match(id.principal.role?.sessionPolicy ?? '', /s3:GetObject/);
    assert.equal(id.principal.isAccountAdmin, false);
    // chaining: a role session may assume for at most 1 h
    await assert.rejects(sts.assumeRole(id.principal, role, 'job-2', { durationSeconds: 3601 }), (e: Error) => /role chaining/.test(e.message));
    assert.ok(await sts.assumeRole(id.principal, role, 'job-2', { durationSeconds: 3600 }));
    await assert.rejects(sts.assumeRole(principal, role, 'x2', { policy: '{' }), code('MalformedPolicyDocument'));
    const huge = doc({ Effect: 'Allow', Action: Array.from({ length: 200 }, (_, i) => `s3:Action${i}`), Resource: '*' });
    await assert.rejects(sts.assumeRole(principal, role, 'x3', { policy: huge }), code('PackedPolicyTooLarge'));
    // the combined credential store answers both kinds
    const key = await iam.createAccessKey(account.accountId, 'alice');
    const both = new CombinedCredentialStore(iam, sts);
    assert.equal((await both.lookup(key.accessKeyId))?.principal.userName, 'alice');
    assert.equal((await both.lookup(r.credentials.accessKeyId))?.principal.kind, 'assumed-role');
  } finally {
    await d.close();
  }
});

test('IamAuthorizer: cached per credential, invalidated at once on change; trust policies; quotas', async () => {
  const { d, iam, dir, sts, principal, role, account } = await setup();
  try {
    const authz = new IamAuthorizer(dir, iam);
    const ctx = { principal, service: 'iam', sourceIp: '127.0.0.1', secure: false, now: new Date(), region: 'eucalyptus' };
    const list = [{ action: 'iam:ListUsers', resources: ['*'] }];
    assert.equal((await authz.decide(ctx, list)).decision, 'ImplicitDeny');
    await dir.putInlinePolicy(account.accountId, 'user', 'alice', 'p', doc({ Effect: 'Allow', Action: 'iam:List*', Resource: '*' }));
    assert.equal((await authz.decide(ctx, list)).decision, 'Allow', 'the cached set was invalidated');
    const hits = authz.identityCache.hits;
    await authz.decide(ctx, list);
    assert.equal(authz.identityCache.hits, hits + 1, 'served from the cache');
    await dir.createGroup(account.accountId, 'g');
    await dir.putInlinePolicy(account.accountId, 'group', 'g', 'deny', doc({ Effect: 'Deny', Action: 'iam:ListUsers', Resource: '*' }));
    assert.equal((await authz.decide(ctx, list)).decision, 'Allow', 'not a member yet');
    await dir.addUserToGroup(account.accountId, 'g', 'alice');
    assert.equal((await authz.decide(ctx, list)).decision, 'ExplicitDeny', 'membership applies at once');
    await assert.rejects(authz.authorize(ctx, list), code('AccessDenied'));
    await assert.rejects(authz.authorize({ ...ctx, service: 'ec2' }, list), code('UnauthorizedOperation'));

    // trust policy names the account: alice needs sts:AssumeRole in her own policies
    await assert.rejects(authz.authorizeAssumeRole(ctx, role), code('AccessDenied'));
    await dir.putInlinePolicy(account.accountId, 'user', 'alice', 'assume', doc({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: role.arn }));
    await authz.authorizeAssumeRole(ctx, role);
    // role sessions: the role's policies, intersected with the session policy
    await dir.putInlinePolicy(account.accountId, 'role', 'worker', 'p', doc({ Effect: 'Allow', Action: ['iam:GetUser', 'iam:ListUsers'], Resource: '*' }));
    const r = await sts.assumeRole(principal, role, 's1', { policy: doc({ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }) });
    const session = (await sts.lookup(r.credentials.accessKeyId))!.principal;
    const sctx = { ...ctx, principal: session };
    assert.equal((await authz.decide(sctx, [{ action: 'iam:GetUser', resources: ['*'] }])).decision, 'Allow');
    assert.equal((await authz.decide(sctx, list)).decision, 'ImplicitDeny', 'outside the session policy');

    // quotas: account policies and the principal's own Limit statements; the tightest wins
    await dir.putInlinePolicy(account.accountId, 'account', account.accountId, 'quota', JSON.stringify({ Statement: [{ Effect: 'Limit', Action: 'iam:CreateUser', Resource: '*', Condition: { NumericLessThanEquals: { 'iam:quota-usernumber': '5' } } }] }));
    await authz.enforceQuota(ctx, 'iam:CreateUser', { 'iam:quota-usernumber': 5 });
    await assert.rejects(authz.enforceQuota(ctx, 'iam:CreateUser', { 'iam:quota-usernumber': 6 }), (e: Error & { code?: string }) => e.code === 'LimitExceeded' && /iam:quota-usernumber: 5/.test(e.message));
    await dir.putInlinePolicy(account.accountId, 'user', 'alice', 'q', doc({ Effect: 'Limit', Action: 'iam:CreateUser', Resource: '*', Condition: { NumericLessThanEquals: { 'iam:quota-usernumber': '3' } } }));
    assert.equal((await authz.limits(ctx, 'iam:CreateUser'))['iam:quota-usernumber']?.limit, 3);
    assert.deepEqual(await authz.limits({ ...ctx, principal: { ...principal, isCloudAdmin: true } }, 'iam:CreateUser'), {}, 'cloud admin exempt');
  } finally {
    await d.close();
  }
});
