/** SigV2: the published S3 and query-API examples, plus negative cases. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuthError, authenticate, toServiceError, type SignedRequest } from './index.js';
import { MemoryStore } from './test-util.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sigv4/sigv2-docs.json');
interface Ex { name: string; now: string; bucket?: string; method: string; path: string; query: string; headers: Record<string, string[]> }
const doc = JSON.parse(readFileSync(FIX, 'utf8')) as { s3: Ex[]; query: Ex };
const store = new MemoryStore();
store.add('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');

async function kind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthError) return e.kind;
    throw e;
  }
  return 'ok';
}

for (const ex of doc.s3) {
  test(`S3 SigV2 docs: ${ex.name}`, async () => {
    const req: SignedRequest = { method: ex.method, path: ex.path, query: ex.query, headers: ex.headers, virtualHostBucket: ex.bucket };
    const opts = { service: 's3' as const, now: new Date(ex.now), store };
    const r = await authenticate(req, opts);
    assert.equal(r.identity?.accessKeyId, 'AKIAIOSFODNN7EXAMPLE');
    assert.deepEqual(r.payload, { kind: 'unsigned' });
    // the same request path-style (bucket in the path) verifies too
    await authenticate({ ...req, virtualHostBucket: undefined, path: `/${ex.bucket}${ex.path}` }, opts);
    assert.equal(await kind(authenticate({ ...req, path: ex.path + 'x' }, opts)), 'SignatureMismatch');
    assert.equal(await kind(authenticate({ ...req, method: ex.method === 'GET' ? 'HEAD' : 'POST' }, opts)), 'SignatureMismatch');
    if (req.headers['authorization']) {
      const e = await authenticate({ ...req, headers: { ...req.headers, 'x-amz-meta-new': ['1'] } }, opts).catch((x: unknown) => x as AuthError);
      assert.ok(e instanceof AuthError && e.kind === 'SignatureMismatch');
      assert.equal(toServiceError('s3', e).fields['StringToSign']?.split('\n')[0], ex.method);
      assert.equal(await kind(authenticate(req, { ...opts, now: new Date(Date.parse(ex.now) + 16 * 60_000) })), 'Skewed');
    } else {
      assert.equal(await kind(authenticate(req, { ...opts, now: new Date(1175139621_000) })), 'Expired');
    }
  });
}

test('query SigV2 docs: DescribeJobFlows (GET, HmacSHA256)', async () => {
  const ex = doc.query;
  const req: SignedRequest = { method: ex.method, path: ex.path, query: ex.query, headers: ex.headers };
  const opts = { service: 'ec2' as const, now: new Date(ex.now), store };
  const r = await authenticate(req, opts);
  assert.equal(r.method, 'sigv2-query');
  assert.equal(await kind(authenticate({ ...req, query: ex.query.replace('2009-03-31', '2009-04-01') }, opts)), 'SignatureMismatch');
  const skew = await authenticate(req, { ...opts, now: new Date(Date.parse(ex.now) + 16 * 60_000) }).catch((e: unknown) => e as AuthError);
  assert.ok(skew instanceof AuthError && skew.kind === 'Skewed');
  assert.equal(toServiceError('ec2', skew).code, 'RequestExpired');
  assert.equal(await kind(authenticate({ ...req, query: ex.query.replace('SignatureVersion=2', 'SignatureVersion=1') }, opts)), 'UnsupportedAlgorithm');
  assert.equal(await kind(authenticate(req, { ...opts, store: new MemoryStore() })), 'UnknownKey');
});

test('query SigV2: HmacSHA1 in a POST form body, Expires, SecurityToken', async () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const now = new Date('2026-01-02T03:04:05Z');
  const params: [string, string][] = [
    ['Action', 'DescribeImages'], ['Version', '2016-11-15'], ['ImageId.1', 'emi-1 2/3~*'], ['AWSAccessKeyId', 'AKIAIOSFODNN7EXAMPLE'],
    ['SignatureVersion', '2'], ['SignatureMethod', 'HmacSHA1'], ['Expires', '2026-01-02T03:10:00Z'],
  ];
  const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const canon = [...params].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const sig = createHmac('sha1', secret).update(`POST\n127.0.0.1:8773\n/services/compute\n${canon}`).digest('base64');
  const body = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&') + `&Signature=${enc(sig)}`;
  const req: SignedRequest = { method: 'POST', path: '/services/compute', query: '', headers: { host: ['127.0.0.1:8773'], 'content-type': ['application/x-www-form-urlencoded; charset=utf-8'] }, body: Buffer.from(body) };
  const r = await authenticate(req, { service: 'ec2', now, store });
  assert.equal(r.method, 'sigv2-query');
  assert.equal(await kind(authenticate(req, { service: 'ec2', now: new Date('2026-01-02T03:10:01Z'), store })), 'Expired');
  assert.equal(await kind(authenticate({ ...req, body: Buffer.from(body.replace('DescribeImages', 'DeleteImages')) }, { service: 'ec2', now, store })), 'SignatureMismatch');
  const tokStore = new MemoryStore();
  tokStore.add('AKIAIOSFODNN7EXAMPLE', secret, { sessionToken: 'tok' });
  assert.equal(await kind(authenticate(req, { service: 'ec2', now, store: tokStore })), 'InvalidToken');
  assert.equal(await kind(authenticate(req, { service: 'ec2', now, store, allowSigV2: false })), 'UnsupportedAlgorithm');
});
