/** Browser POST uploads: the AWS documentation example, botocore's generate_presigned_post (SigV4 and SigV2), negatives. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, authenticatePost, checkPostPolicy, toServiceError } from './index.js';
import { CROSS_AK, CROSS_SK, MemoryStore, botocorePost } from './test-util.js';

// "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)", Amazon S3 API Reference.
const DOC_POLICY =
  'eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9';
const DOC_FIELDS: Record<string, string> = {
  key: 'user/user1/${filename}',
  acl: 'public-read',
  success_action_redirect: 'http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html',
  'content-type': 'image/jpeg',
  'x-amz-meta-uuid': '14365123651274',
  'x-amz-server-side-encryption': 'AES256',
  'x-amz-credential': 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request',
  'x-amz-algorithm': 'AWS4-HMAC-SHA256',
  'x-amz-date': '20151229T000000Z',
  'x-amz-meta-tag': '',
  policy: DOC_POLICY,
  'x-amz-signature': '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e',
};

async function kind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthError) return e.kind;
    throw e;
  }
  return 'ok';
}

function violation(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof AuthError && e.kind === 'PolicyViolation', String(e));
    const s = toServiceError('s3', e);
    assert.equal(s.code, 'AccessDenied');
    return s.message;
  }
  return assert.fail('expected a policy violation');
}

test('POST policy: the AWS documentation example (SigV4)', async () => {
  const store = new MemoryStore();
  store.add('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  const opts = { service: 's3' as const, now: new Date('2015-12-29T00:00:01Z'), store, regions: ['us-east-1'] };
  const r = await authenticatePost(DOC_FIELDS, opts);
  assert.equal(r.method, 'sigv4-post');
  assert.equal(r.policy?.expiration.toISOString(), '2015-12-30T12:00:00.000Z');
  assert.deepEqual(checkPostPolicy(r, DOC_FIELDS, 'sigv4examplebucket', opts.now), {});
  // conditions
  assert.match(violation(() => checkPostPolicy(r, DOC_FIELDS, 'otherbucket', opts.now)), /Policy Condition failed: \{"bucket":"sigv4examplebucket"\}/);
  assert.match(violation(() => checkPostPolicy(r, { ...DOC_FIELDS, key: 'user/user2/x' }, 'sigv4examplebucket', opts.now)), /starts-with/);
  assert.match(violation(() => checkPostPolicy(r, { ...DOC_FIELDS, 'content-type': 'image/png, text/html' }, 'sigv4examplebucket', opts.now)), /Content-Type/);
  assert.match(violation(() => checkPostPolicy(r, { ...DOC_FIELDS, 'x-amz-meta-other': '1' }, 'sigv4examplebucket', opts.now)), /Extra input fields: x-amz-meta-other/);
  assert.match(violation(() => checkPostPolicy(r, DOC_FIELDS, 'sigv4examplebucket', new Date('2015-12-30T12:00:01Z'))), /Policy expired/);
  // x-ignore-* and the file are exempt
  checkPostPolicy(r, { ...DOC_FIELDS, 'x-ignore-me': '1', file: '' }, 'sigv4examplebucket', opts.now);
  // signature: tampered policy, wrong secret, unknown key, wrong region
  assert.equal(await kind(authenticatePost({ ...DOC_FIELDS, policy: DOC_POLICY.replace('eyAi', 'eyBi') }, opts)), 'SignatureMismatch');
  const wrong = new MemoryStore();
  wrong.add('AKIAIOSFODNN7EXAMPLE', 'x');
  assert.equal(await kind(authenticatePost(DOC_FIELDS, { ...opts, store: wrong })), 'SignatureMismatch');
  const unknown = await authenticatePost(DOC_FIELDS, { ...opts, store: new MemoryStore() }).catch((e: unknown) => e as AuthError);
  assert.equal(toServiceError('s3', unknown as AuthError).code, 'InvalidAccessKeyId');
  assert.equal(await kind(authenticatePost(DOC_FIELDS, { ...opts, regions: ['eucalyptus'] })), 'BadRegion');
  const { 'x-amz-date': _d, ...noDate } = DOC_FIELDS;
  const inc = await authenticatePost(noDate, opts).catch((e: unknown) => e as AuthError);
  assert.equal(toServiceError('s3', inc as AuthError).code, 'InvalidArgument');
  // no signature at all: anonymous only when allowed
  const { 'x-amz-signature': _s, 'x-amz-credential': _c, 'x-amz-algorithm': _a, ...anon } = DOC_FIELDS;
  assert.equal(await kind(authenticatePost(anon, opts)), 'Missing');
  assert.equal((await authenticatePost(anon, { ...opts, allowAnonymous: true })).identity, null);
});

test('POST policy: botocore generate_presigned_post, SigV4 and SigV2, with a session token', async () => {
  const token = 'FwoGZXIvYXdzEPOST/token+=';
  const forms = botocorePost(
    [
      { name: 'v4', service: 's3', op: '', signature_version: 's3v4', post: 3600, params: { Bucket: 'bkt', Key: 'uploads/${filename}', Fields: { acl: 'private', 'Content-Type': 'text/plain' }, Conditions: [{ acl: 'private' }, ['starts-with', '$key', 'uploads/'], ['starts-with', '$Content-Type', 'text/'], ['content-length-range', 1, 1024]] } },
      { name: 'v2', service: 's3', op: '', signature_version: 's3', post: 3600, params: { Bucket: 'bkt', Key: 'k.txt' } },
    ],
    token,
  );
  const store = new MemoryStore();
  store.add(CROSS_AK, CROSS_SK, { sessionToken: token });
  const now = new Date();
  for (const [name, form] of forms) {
    const fields = Object.fromEntries(Object.entries(form.fields).map(([k, v]) => [k.toLowerCase(), v]));
    const r = await authenticatePost(fields, { service: 's3', now, store });
    assert.equal(r.method, name === 'v4' ? 'sigv4-post' : 'sigv2-post');
    const { contentLength } = checkPostPolicy(r, fields, 'bkt', now);
    if (name === 'v4') assert.deepEqual(contentLength, { min: 1, max: 1024 });
    violation(() => checkPostPolicy(r, fields, 'other', now));
    violation(() => checkPostPolicy(r, fields, 'bkt', new Date(now.getTime() + 3601_000)));
    const other = new MemoryStore();
    other.add(CROSS_AK, CROSS_SK, { sessionToken: 'different' });
    assert.equal(await kind(authenticatePost(fields, { service: 's3', now, store: other })), 'InvalidToken');
    assert.equal(await kind(authenticatePost({ ...fields, policy: fields['policy'] + '=' }, { service: 's3', now, store })), 'SignatureMismatch');
  }
});

test('POST policy: malformed documents are InvalidPolicyDocument', async () => {
  const store = new MemoryStore();
  store.add('AK', 'SK');
  const { createHmac } = await import('node:crypto');
  for (const doc of ['not json', '{"conditions":[]}', '{"expiration":"soon","conditions":[]}', '{"expiration":"2030-01-01T00:00:00Z","conditions":[["nope"]]}', '{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}']) {
    const policy = Buffer.from(doc).toString('base64');
    const signature = createHmac('sha1', 'SK').update(policy).digest('base64');
    const e = await authenticatePost({ awsaccesskeyid: 'AK', policy, signature }, { service: 's3', now: new Date(), store }).catch((x: unknown) => x as AuthError);
    assert.ok(e instanceof AuthError, doc);
    assert.equal(toServiceError('s3', e).code, 'InvalidPolicyDocument', doc);
  }
});
