import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAwsError } from '../../shared/index.js';
import { parsePolicy, type ParseOptions } from './parse.js';

function rejects(doc: unknown, message: string | RegExp, opts: ParseOptions = {}): void {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
  assert.throws(
    () => parsePolicy(text, opts),
    (e: unknown) => {
      assert.ok(isAwsError(e), 'an AwsError');
      assert.equal(e.code, 'MalformedPolicyDocument');
      assert.equal(e.status, 400);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
    text,
  );
}

const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };

test('malformed documents get AWS messages', () => {
  rejects('{not json', 'Syntax errors in policy.');
  rejects('[]', 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17' }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [ok], Extra: 1 }, 'Syntax errors in policy.');
  rejects({ Version: '2013-01-01', Statement: [ok] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Effect: 'Permit' }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Effect: 'allow' }] }, 'The policy failed legacy parsing');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Bogus: 1 }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, NotAction: 's3:*' }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Action: [1] }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '*' }] }, 'Policy statement must contain actions.');
  rejects({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: [], Resource: '*' }] }, 'Policy statement must contain actions.');
  rejects({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*' }] }, 'Policy statement must contain resources.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Action: 'GetObject' }] }, 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Action: 's3:a:b' }] }, 'Actions/Condition can contain only one colon.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Action: 's 3:x' }] }, 'Vendor s 3 is not valid');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Resource: 'bucket' }] }, 'Resource bucket must be in ARN format or "*".');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Sid: 'a' }, { ...ok, Sid: 'a' }] }, 'Statement IDs (SID) in a single policy must be unique.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { StringEqual: { 'aws:username': 'x' } } }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { StringEquals: 'x' } }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { StringEquals: { 'aws:username': { a: 1 } } } }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }] }, 'The policy failed legacy parsing');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { NullIfExists: { 'aws:username': 'true' } } }] }, 'Syntax errors in policy.');
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }] }, 'Syntax errors in policy.');
});

test('Version is required only where IAM requires it', () => {
  rejects({ Statement: [ok] }, 'Policy document must be version 2012-10-17 or greater.', { requireVersion: true });
  rejects({ Version: '2008-10-17', Statement: [ok] }, 'Policy document must be version 2012-10-17 or greater.', { requireVersion: true });
  assert.equal(parsePolicy(JSON.stringify({ Statement: ok })).version, '2008-10-17');
});

test('Principal rules per policy kind', () => {
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Principal: '*' }] }, 'Policy document should not specify a principal.');
  rejects({ Version: '2012-10-17', Statement: [ok] }, 'Missing required field Principal', { kind: 'resource' });
  rejects(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '111122223333' }, Resource: '*' }] },
    'Has prohibited field Resource',
    { kind: 'trust' },
  );
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Principal: { AWS: 'bob' } }] }, /Invalid principal/, { kind: 'resource' });
  rejects({ Version: '2012-10-17', Statement: [{ ...ok, Principal: { Nobody: 'x' } }] }, 'Syntax errors in policy.', { kind: 'resource' });
  const trust = parsePolicy(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:root'], Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
    { kind: 'trust' },
  );
  assert.deepEqual(
    trust.statements[0]!.principals!.map((p) => `${p.type}=${p.value}`),
    ['AWS=111122223333', 'AWS=arn:aws:iam::111122223333:root', 'Service=ec2.amazonaws.com'],
  );
});

test('Limit is Eucalyptus-only and identity-only', () => {
  const quota = { Effect: 'Limit', Action: 'ec2:RunInstances', Resource: '*', Condition: { NumericLessThanEquals: { 'ec2:quota-vminstancenumber': '5' } } };
  const p = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [quota] }));
  assert.equal(p.hasLimit, true);
  assert.equal(p.statements[0]!.effect, 'Limit');
  rejects({ Version: '2012-10-17', Statement: [{ ...quota, Principal: '*' }] }, /Limit is only valid/, { kind: 'resource' });
});

test('a single statement object, Sid, Id, and compiled parts', () => {
  const p = parsePolicy(
    JSON.stringify({ Version: '2012-10-17', Id: 'p1', Statement: { Sid: 'One', Effect: 'Deny', NotAction: ['iam:*', 'S3:Get*'], NotResource: 'arn:aws:s3:::b/*' } }),
    { name: 'user/alice/inline' },
  );
  assert.equal(p.id, 'p1');
  assert.equal(p.name, 'user/alice/inline');
  const st = p.statements[0]!;
  assert.equal(st.sid, 'One');
  assert.equal(st.notAction, true);
  assert.equal(st.notResource, true);
  assert.deepEqual([...st.actions.services].sort(), ['iam', 's3']);
});
