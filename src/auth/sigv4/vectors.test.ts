import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuthError, authenticate, type SignedRequest } from './index.js';
import { MemoryStore, parseRawRequest } from './test-util.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sigv4');
const AK = 'AKIDEXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

interface SuiteCase {
  name: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string[]>;
  body?: string;
  sessionToken?: string;
  authorization: string;
  creq?: string;
}
const suite = JSON.parse(readFileSync(join(FIX, 'suite.json'), 'utf8')) as { now: string; cases: SuiteCase[] };

async function expectAuthError(p: Promise<unknown>, kind: AuthError['kind']): Promise<AuthError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AuthError, `expected AuthError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected AuthError ${kind}`);
}

for (const c of suite.cases) {
  test(`SigV4 suite: ${c.name}`, async () => {
    const store = new MemoryStore();
    store.add(AK, SK, c.sessionToken ? { sessionToken: c.sessionToken } : {});
    const req: SignedRequest = {
      method: c.method,
      path: c.path,
      query: c.query,
      headers: { ...c.headers, authorization: [c.authorization] },
      body: Buffer.from(c.body ?? '', 'utf8'),
    };
    const opts = { service: 'ec2' as const, signingName: 'service', now: new Date(suite.now), store, regions: ['us-east-1'] };
    const r = await authenticate(req, opts);
    assert.equal(r.method, 'sigv4-header');
    assert.equal(r.identity?.accessKeyId, AK);
    assert.equal(r.region, 'us-east-1');
    assert.deepEqual(r.payload, { kind: 'none' });

    // One flipped hex digit of the signature must fail, and expose the canonical request we computed.
    const bad = c.authorization.replace(/Signature=(.)/, (_m, ch: string) => `Signature=${ch === '0' ? '1' : '0'}`);
    const e = await expectAuthError(authenticate({ ...req, headers: { ...req.headers, authorization: [bad] } }, opts), 'SignatureMismatch');
    if (c.creq) assert.equal(e.details.canonicalRequest, c.creq);
    // A wrong secret fails.
    const s2 = new MemoryStore();
    s2.add(AK, SK.replace('K', 'k'), c.sessionToken ? { sessionToken: c.sessionToken } : {});
    await expectAuthError(authenticate(req, { ...opts, store: s2 }), 'SignatureMismatch');
  });
}

test('SigV4 suite: tampering with a signed header, the query or the body fails', async () => {
  const store = new MemoryStore();
  store.add(AK, SK);
  const opts = { service: 'ec2' as const, signingName: 'service', now: new Date(suite.now), store };
  const byName = (n: string): SuiteCase => suite.cases.find((c) => c.name === n)!;
  const mk = (c: SuiteCase): SignedRequest => ({
    method: c.method,
    path: c.path,
    query: c.query,
    headers: { ...c.headers, authorization: [c.authorization] },
    body: Buffer.from(c.body ?? ''),
  });
  const h = mk(byName('post-header-key-sort'));
  await authenticate(h, opts);
  await expectAuthError(authenticate({ ...h, headers: { ...h.headers, 'my-header1': ['value2'] } }, opts), 'SignatureMismatch');
  // an unsigned header may change freely
  await authenticate({ ...h, headers: { ...h.headers, 'user-agent': ['x'] } }, opts);
  const q = mk(byName('get-vanilla-query-order-key-case'));
  await authenticate(q, opts);
  await expectAuthError(authenticate({ ...q, query: 'Param2=value2&Param1=value3' }, opts), 'SignatureMismatch');
  await expectAuthError(authenticate({ ...q, query: 'Param2=value2&Param1=value1&acl' }, opts), 'SignatureMismatch');
  const b = mk(byName('post-x-www-form-urlencoded'));
  await authenticate(b, opts);
  await expectAuthError(authenticate({ ...b, body: Buffer.from('Param1=value2') }, opts), 'SignatureMismatch');
});

test('SigV4 suite: time, scope and key checks', async () => {
  const store = new MemoryStore();
  store.add(AK, SK);
  const c = suite.cases.find((x) => x.name === 'get-vanilla')!;
  const req: SignedRequest = { method: 'GET', path: '/', query: '', headers: { ...c.headers, authorization: [c.authorization] } };
  const base = { service: 'ec2' as const, signingName: 'service', store };
  const t0 = new Date(suite.now).getTime();
  await authenticate(req, { ...base, now: new Date(t0 + 14 * 60_000) });
  await authenticate(req, { ...base, now: new Date(t0 - 14 * 60_000) });
  const late = await expectAuthError(authenticate(req, { ...base, now: new Date(t0 + 16 * 60_000) }), 'Skewed');
  assert.equal(late.details.future, false);
  const early = await expectAuthError(authenticate(req, { ...base, now: new Date(t0 - 16 * 60_000) }), 'Skewed');
  assert.equal(early.details.future, true);
  await expectAuthError(authenticate(req, { ...base, now: new Date(t0), regions: ['eu-west-1'] }), 'BadRegion');
  await expectAuthError(authenticate(req, { ...base, signingName: 'iam', now: new Date(t0) }), 'Malformed');
  await expectAuthError(authenticate(req, { ...base, store: new MemoryStore(), now: new Date(t0) }), 'UnknownKey');
  // Credential date differing from X-Amz-Date
  const wrongDate = c.authorization.replace('/20150830/', '/20150831/');
  await expectAuthError(authenticate({ ...req, headers: { ...req.headers, authorization: [wrongDate] } }, { ...base, now: new Date(t0) }), 'Malformed');
  // Incomplete header
  const noSig = c.authorization.replace(/, Signature=.*$/, '');
  await expectAuthError(authenticate({ ...req, headers: { ...req.headers, authorization: [noSig] } }, { ...base, now: new Date(t0) }), 'Incomplete');
  // No date at all
  const { 'x-amz-date': _d, ...noDate } = req.headers;
  await expectAuthError(authenticate({ ...req, headers: noDate }, { ...base, now: new Date(t0) }), 'Incomplete');
  // SigV4a
  const v4a = 'AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045';
  await expectAuthError(authenticate({ ...req, headers: { ...req.headers, authorization: [v4a] } }, { ...base, now: new Date(t0) }), 'UnsupportedAlgorithm');
  // No auth at all
  await expectAuthError(authenticate({ method: 'GET', path: '/', query: '', headers: { host: ['x'] } }, { ...base, now: new Date(t0) }), 'Missing');
});

test('aws-c-auth suite: presigned URLs (X-Amz-Expires=3600)', async () => {
  const store = new MemoryStore();
  store.add(AK, SK);
  for (const name of ['get-vanilla-query', 'get-utf8', 'get-vanilla-query-order-key-case']) {
    const req = parseRawRequest(readFileSync(join(FIX, `aws-c-auth/${name}.query-signed-request.txt`), 'utf8'));
    const opts = { service: 'ec2' as const, signingName: 'service', store };
    const t0 = Date.parse('2015-08-30T12:36:00Z');
    const r = await authenticate(req, { ...opts, now: new Date(t0 + 3599_000) });
    assert.equal(r.method, 'sigv4-query', name);
    const e = await expectAuthError(authenticate(req, { ...opts, now: new Date(t0 + 3601_000) }), 'Expired');
    assert.equal(e.details.expiresIn, 3600);
    await expectAuthError(authenticate(req, { ...opts, now: new Date(t0 - 16 * 60_000) }), 'Skewed');
    await expectAuthError(authenticate({ ...req, query: req.query.replace('X-Amz-Expires=3600', 'X-Amz-Expires=3601') }, { ...opts, now: new Date(t0) }), 'SignatureMismatch');
    await expectAuthError(authenticate({ ...req, query: req.query.replace('X-Amz-Expires=3600', 'X-Amz-Expires=604801') }, { ...opts, now: new Date(t0) }), 'Malformed');
    await expectAuthError(authenticate({ ...req, query: req.query + '&extra=1' }, { ...opts, now: new Date(t0) }), 'SignatureMismatch');
  }
});

test('aws-c-auth suite: session token in the header', async () => {
  const ctx = JSON.parse(readFileSync(join(FIX, 'aws-c-auth/get-vanilla-with-session-token.context.json'), 'utf8')) as {
    credentials: { access_key_id: string; secret_access_key: string; token: string };
  };
  const req = parseRawRequest(readFileSync(join(FIX, 'aws-c-auth/get-vanilla-with-session-token.header-signed-request.txt'), 'utf8'));
  const now = new Date('2015-08-30T12:36:00Z');
  const store = new MemoryStore();
  store.add(ctx.credentials.access_key_id, ctx.credentials.secret_access_key, { sessionToken: ctx.credentials.token, expiresAt: new Date(now.getTime() + 1000) });
  const opts = { service: 'ec2' as const, signingName: 'service', store };
  const r = await authenticate(req, { ...opts, now });
  assert.equal(r.identity?.sessionToken, ctx.credentials.token);
  // token has expired since
  await expectAuthError(authenticate(req, { ...opts, now: new Date(now.getTime() + 2000) }), 'ExpiredToken');
  // the store knows another token for this key
  const s2 = new MemoryStore();
  s2.add(ctx.credentials.access_key_id, ctx.credentials.secret_access_key, { sessionToken: 'other' });
  await expectAuthError(authenticate(req, { ...opts, store: s2, now }), 'InvalidToken');
  // a long-term key presented with a token
  const s3 = new MemoryStore();
  s3.add(ctx.credentials.access_key_id, ctx.credentials.secret_access_key);
  await expectAuthError(authenticate(req, { ...opts, store: s3, now }), 'InvalidToken');
});

test('botocore 2011 suite: Date header instead of X-Amz-Date, double-encoded paths', async () => {
  const store = new MemoryStore();
  store.add(AK, SK);
  for (const name of ['get-space', 'get-utf8']) {
    const read = (ext: string): string => readFileSync(join(FIX, `botocore/${name}.${ext}`), 'utf8');
    const req = parseRawRequest(read('req'));
    req.headers['authorization'] = [read('authz')];
    const opts = { service: 'ec2' as const, signingName: 'host', store, now: new Date('2011-09-09T23:40:00Z') };
    const r = await authenticate(req, opts);
    assert.equal(r.method, 'sigv4-header');
    const bad = read('authz').replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const e = await expectAuthError(authenticate({ ...req, headers: { ...req.headers, authorization: [bad] } }, opts), 'SignatureMismatch');
    assert.equal(e.details.canonicalRequest, read('creq'));
    assert.equal(e.details.stringToSign, read('sts'));
  }
});
