/**
 * S3 cross-signing: requests from @aws-sdk/client-s3 (header SigV4, streamed aws-chunked bodies with flexible
 * checksum trailers), presigned URLs from @smithy/signature-v4, and botocore (SigV4, presigned, SigV2 header and query).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectAclCommand, S3Client, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthError, authenticate, toServiceError, type SignedRequest, type VerifyOptions } from './index.js';
import { capture, capturingHandler, wireQuery } from './sdk-capture.js';
import { MemoryStore, PY_DEBIAN, PY_NEW, botocoreSign, decode } from './test-util.js';

const AK = 'AKIAIOSFODNN7CROSS01';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYCROSSKEY1';
const creds = { accessKeyId: AK, secretAccessKey: SK };

function store(token?: string): MemoryStore {
  const s = new MemoryStore();
  s.add(AK, SK, token ? { sessionToken: token } : {});
  return s;
}
const opts = (st = store()): VerifyOptions => ({ service: 's3', now: new Date(), store: st, regions: ['us-east-1'] });

/** S3 bodies are streamed: split the captured body off the request. */
function split(r: SignedRequest): { req: SignedRequest; body: Buffer } {
  const { body, ...rest } = r;
  return { req: rest, body: body ?? Buffer.alloc(0) };
}

async function kind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthError) return e.kind;
    throw e;
  }
  return 'ok';
}

const KEYS = ['plain.txt', 'dir/a b+c~(1).txt', 'ü/日本語 ключ.bin', "odd!$&'()*,;=:@[]{}^`|%.txt", 'a//b/./c/../d', ' lead-space'];

test('SDK v3 S3: GET/PUT/List with awkward keys verify, path-style and virtual-hosted', async () => {
  for (const forcePathStyle of [true, false]) {
    const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://s3.euca.internal:8773', forcePathStyle, credentials: creds, requestHandler: capturingHandler, maxAttempts: 1 });
    for (const Key of KEYS) {
      const get = split(await capture(s3, new GetObjectCommand({ Bucket: 'bkt', Key, VersionId: 'v1', Range: 'bytes=0-9' })));
      const r = await authenticate(get.req, opts());
      assert.equal(r.method, 'sigv4-header', Key);
      assert.equal(await kind(authenticate({ ...get.req, query: 'versionId=v2' }, opts())), 'SignatureMismatch');
      const put = split(await capture(s3, new PutObjectCommand({ Bucket: 'bkt', Key, Body: Buffer.from('hello world'), ContentType: 'text/plain' })));
      const pr = await authenticate(put.req, opts());
      assert.equal(pr.payload.kind, 'sha256', Key);
    }
    const list = split(await capture(s3, new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'a b/ü+', Delimiter: '/', StartAfter: 'x~y*z' })));
    await authenticate(list.req, opts());
    const acl = split(await capture(s3, new PutObjectAclCommand({ Bucket: 'bkt', Key: 'k', ACL: 'public-read' })));
    assert.match(acl.req.query, /(^|&)acl(&|=|$)/);
    await authenticate(acl.req, opts());
  }
});

test('SDK v3 S3: streamed PutObject (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with each flexible checksum', async () => {
  const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:8773', forcePathStyle: true, credentials: creds, requestHandler: capturingHandler, maxAttempts: 1 });
  const data = Buffer.alloc(300_001);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  for (const ChecksumAlgorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as ChecksumAlgorithm[]) {
    const pieces = [data.subarray(0, 70_000), data.subarray(70_000, 200_000), data.subarray(200_000)];
    const { req, body } = split(await capture(s3, new PutObjectCommand({ Bucket: 'b', Key: 'big.bin', Body: Readable.from(pieces), ContentLength: data.length, ChecksumAlgorithm })));
    assert.equal(req.headers['x-amz-content-sha256']?.[0], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    const r = await authenticate(req, opts());
    assert.equal(r.payload.kind, 'aws-chunked');
    for (const slice of [4096, 65536, 1 << 20]) {
      const d = await decode(r, req.headers, body, slice);
      assert.ok(d.out.equals(data), ChecksumAlgorithm);
      assert.equal(d.checksum?.algorithm, ChecksumAlgorithm);
      assert.equal(d.checksum?.value, d.trailers[`x-amz-checksum-${ChecksumAlgorithm.toLowerCase()}`]);
    }
    // a flipped payload byte: the trailer checksum no longer matches
    const text = body.toString('latin1');
    const at = text.indexOf('\r\n') + 2 + 1000;
    const bad = Buffer.from(body);
    bad[at] = bad[at]! ^ 1;
    const err = await decode(r, req.headers, bad).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AuthError && err.kind === 'BadDigest', String(err));
    assert.equal(toServiceError('s3', err).code, 'BadDigest');
    // a wrong trailer value
    const wrongTrailer = Buffer.from(text.replace(/(x-amz-checksum-[a-z0-9]+:)[^\r]+/, '$1AAAAAAAAAAA='), 'latin1');
    assert.equal(await kind(decode(r, req.headers, wrongTrailer)), 'BadDigest');
    // truncated bodies
    assert.equal(await kind(decode(r, req.headers, body.subarray(0, 100_000))), 'IncompleteBody');
    assert.equal(await kind(decode(r, req.headers, body.subarray(0, body.length - text.length + text.indexOf('\r\n0\r\n') + 2))), 'IncompleteBody');
    // the seed request itself is signed: changing x-amz-trailer breaks it
    assert.equal(await kind(authenticate({ ...req, headers: { ...req.headers, 'x-amz-trailer': ['x-amz-meta-other'] } }, opts())), 'SignatureMismatch');
  }
});

function toBytes(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(d));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

async function presign(path: string, expiresIn: number, sessionToken?: string, query: Record<string, string> = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials: { ...creds, sessionToken }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const host = 'bkt.s3.euca.internal:8773';
  const req = { method: 'GET', protocol: 'http:', hostname: 'bkt.s3.euca.internal', port: 8773, path, query, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } };
  const signed = await signer.presign(req, { expiresIn, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) });
  return { method: 'GET', path: signed.path, query: wireQuery(signed.query as Record<string, string>), headers: { host: [host] } };
}

test('@smithy/signature-v4 presigned GET URLs verify; expiry, tampering, token', async () => {
  const encodeKey = (k: string): string => '/' + k.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())).join('/');
  for (const key of KEYS) {
    const p = await presign(encodeKey(key), 900, undefined, { 'response-content-type': 'text/plain; charset=utf-8' });
    const r = await authenticate(p, opts());
    assert.equal(r.method, 'sigv4-query', key);
    assert.deepEqual(r.payload, { kind: 'unsigned' });
    assert.equal(await kind(authenticate(p, { ...opts(), now: new Date(Date.now() + 901_000) })), 'Expired');
    assert.equal(await kind(authenticate({ ...p, query: p.query.replace('text%2Fplain', 'text%2Fhtml') }, opts())), 'SignatureMismatch');
    assert.equal(await kind(authenticate({ ...p, path: p.path + 'x' }, opts())), 'SignatureMismatch');
  }
  const t = await presign('/k', 604800, 'sess/token+1==');
  assert.ok(t.query.includes('X-Amz-Security-Token='));
  await authenticate(t, opts(store('sess/token+1==')));
  assert.equal(await kind(authenticate(t, opts(store('other')))), 'InvalidToken');
  assert.equal(await kind(authenticate(t, opts(store()))), 'InvalidToken');
});

test('botocore S3: SigV4 header, presigned, SigV2 header and SigV2 query', async () => {
  const reqs = botocoreSign([
    { name: 'put', service: 's3', op: 'put_object', params: { Bucket: 'bkt', Key: 'dir/a b+c~(1).txt', Body: 'hello' } },
    { name: 'get', service: 's3', op: 'get_object', params: { Bucket: 'bkt', Key: 'ü/日本語 ключ.bin', Range: 'bytes=1-2' } },
    { name: 'list', service: 's3', op: 'list_objects_v2', params: { Bucket: 'bkt', Prefix: 'a b/', Delimiter: '/' } },
    { name: 'acl', service: 's3', op: 'get_object_acl', params: { Bucket: 'bkt', Key: 'k' } },
    { name: 'presign', service: 's3', op: 'get_object', signature_version: 's3v4', params: { Bucket: 'bkt', Key: 'a b+c.txt', ResponseContentType: 'text/plain' }, presign: 3600 },
    { name: 'v2-get', service: 's3', op: 'get_object', signature_version: 's3', params: { Bucket: 'bkt', Key: 'dir/a b+c~(1).txt', VersionId: '3' } },
    { name: 'v2-put', service: 's3', op: 'put_object', signature_version: 's3', params: { Bucket: 'bkt', Key: 'k', Body: 'hello', ContentType: 'text/plain', Metadata: { Color: 'red', 'a-b': ' x ' } } },
    { name: 'v2-acl', service: 's3', op: 'get_object_acl', signature_version: 's3', params: { Bucket: 'bkt', Key: 'k' } },
    { name: 'v2-presign', service: 's3', op: 'get_object', signature_version: 's3', params: { Bucket: 'bkt', Key: 'a b.txt', ResponseContentDisposition: 'attachment' }, presign: 600 },
    { name: 'v2-virtual', service: 's3', op: 'list_objects', signature_version: 's3', addressing_style: 'virtual', endpoint: 'http://s3.euca.internal:8773', params: { Bucket: 'bkt', Prefix: 'a b' } },
    { name: 'v4-virtual', service: 's3', op: 'get_object', signature_version: 's3v4', addressing_style: 'virtual', endpoint: 'http://s3.euca.internal:8773', params: { Bucket: 'bkt', Key: 'x y/z' } },
  ]);
  const expectMethod: Record<string, string> = {
    put: 'sigv4-header', get: 'sigv4-header', list: 'sigv4-header', acl: 'sigv4-header', presign: 'sigv4-query',
    'v2-get': 'sigv2-s3-header', 'v2-put': 'sigv2-s3-header', 'v2-acl': 'sigv2-s3-header', 'v2-presign': 'sigv2-s3-query', 'v2-virtual': 'sigv2-s3-header', 'v4-virtual': 'sigv4-header',
  };
  for (const [name, full] of reqs) {
    const { req } = split(full);
    if (name.endsWith('-virtual')) {
      assert.equal(req.headers['host']?.[0], 'bkt.s3.euca.internal:8773');
      req.virtualHostBucket = 'bkt';
    }
    const r = await authenticate(req, opts()).catch((e: unknown) => assert.fail(`${name}: ${String(e)} ${JSON.stringify(req)} ${JSON.stringify((e as AuthError).details)}`));
    assert.equal(r.method, expectMethod[name], name);
    // tampering: a changed query or path fails
    assert.equal(await kind(authenticate({ ...req, path: req.path + 'x' }, opts())), 'SignatureMismatch', name);
    const wrong = new MemoryStore();
    wrong.add(AK, SK + '1');
    assert.equal(await kind(authenticate(req, opts(wrong))), 'SignatureMismatch', name);
    assert.equal(await kind(authenticate(req, opts(new MemoryStore()))), 'UnknownKey', name);
  }
  // SigV2: the sub-resource is signed
  const acl = split(reqs.get('v2-acl')!).req;
  assert.equal(await kind(authenticate({ ...acl, query: '' }, opts())), 'SignatureMismatch');
  // SigV2 header: skew
  assert.equal(await kind(authenticate(split(reqs.get('v2-get')!).req, { ...opts(), now: new Date(Date.now() + 16 * 60_000) })), 'Skewed');
  // SigV2 query: expiry
  assert.equal(await kind(authenticate(split(reqs.get('v2-presign')!).req, { ...opts(), now: new Date(Date.now() + 601_000) })), 'Expired');
  // SigV2 disabled
  assert.equal(await kind(authenticate(split(reqs.get('v2-get')!).req, { ...opts(), allowSigV2: false })), 'UnsupportedAlgorithm');
});

test('S3 anonymous requests', async () => {
  const req: SignedRequest = { method: 'GET', path: '/bkt/k', query: '', headers: { host: ['x'] } };
  const r = await authenticate(req, { ...opts(), allowAnonymous: true });
  assert.deepEqual(r, { identity: null, method: 'anonymous', payload: { kind: 'unsigned' } });
  assert.equal(await kind(authenticate(req, opts())), 'Missing');
});

test('botocore S3 streamed uploads: aws-chunked with a CRC32 trailer (1.43 over https), UNSIGNED-PAYLOAD and Content-MD5 (Debian 1.29)', async () => {
  for (const python of [PY_NEW, PY_DEBIAN]) {
    for (const endpoint of ['http://127.0.0.1:8773', 'https://127.0.0.1:8773']) {
      const text = 'hello world '.repeat(1000);
      const reqs = botocoreSign([{ name: 'put', service: 's3', op: 'put_object', stream: true, endpoint, params: { Bucket: 'bkt', Key: 'k y', Body: text } }], undefined, python);
      const { req, body } = split(reqs.get('put')!);
      const r = await authenticate(req, opts());
      const mode = req.headers['x-amz-content-sha256']?.[0];
      if (mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
        const d = await decode(r, req.headers, body, 1000);
        assert.equal(d.out.toString(), text);
        assert.deepEqual(Object.keys(d.trailers), ['x-amz-checksum-crc32']);
        assert.equal(await kind(decode(r, req.headers, Buffer.from(body.toString().replace('hello', 'jello')))), 'BadDigest');
      } else if (mode === 'UNSIGNED-PAYLOAD') {
        assert.deepEqual(r.payload, { kind: 'unsigned' });
      } else {
        assert.deepEqual(r.payload, { kind: 'sha256', expected: createHash('sha256').update(text).digest('hex') });
      }
    }
  }
  // botocore 1.43 over https really does stream with a trailer
  const { req } = split(botocoreSign([{ name: 'p', service: 's3', op: 'put_object', stream: true, endpoint: 'https://127.0.0.1:8773', params: { Bucket: 'b', Key: 'k', Body: 'x' } }]).get('p')!);
  assert.equal(req.headers['x-amz-content-sha256']?.[0], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
});

test("Debian's botocore 1.29: S3 SigV4, presigned and SigV2 verify", async () => {
  const reqs = botocoreSign([
    { name: 'get', service: 's3', op: 'get_object', params: { Bucket: 'bkt', Key: 'dir/a b+c~(1).txt' } },
    { name: 'presign', service: 's3', op: 'get_object', signature_version: 's3v4', params: { Bucket: 'bkt', Key: 'a b' }, presign: 60 },
    // (not a sub-resource request: botocore 1.29's HmacV1 signs `/bkt/k?acl?acl` for GetObjectAcl, which AWS rejects too)
    { name: 'v2', service: 's3', op: 'put_object', signature_version: 's3', params: { Bucket: 'bkt', Key: 'a b+c', Body: 'x', ContentType: 'text/plain', Metadata: { k: 'v' } } },
  ], undefined, PY_DEBIAN);
  for (const [name, full] of reqs) {
    const r = await authenticate(split(full).req, opts());
    assert.ok(r.identity, name);
  }
});
