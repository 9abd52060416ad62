/** The Amazon S3 documentation's SigV4 examples: header, presigned, streaming (chunked) and streaming with trailer. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuthError, authenticate, createSha256Verifier, toServiceError, type SignedRequest } from './index.js';
import { MemoryStore, decode } from './test-util.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sigv4/s3-docs.json');
interface Req { name?: string; method: string; path: string; query: string; headers: Record<string, string[]>; body?: string }
interface Chunk { size: number; byte: string; signature: string }
const doc = JSON.parse(readFileSync(FIX, 'utf8')) as {
  accessKeyId: string; secretAccessKey: string; now: string; requests: Req[];
  presigned: Req & { canonicalRequestSha256: string };
  streaming: Req & { chunks: Chunk[] };
  streamingTrailer: Req & { chunks: Chunk[]; trailer: string; trailerSignature: string };
};
const store = new MemoryStore();
store.add(doc.accessKeyId, doc.secretAccessKey);
const opts = { service: 's3' as const, now: new Date(doc.now), store, regions: ['us-east-1'] };
const req = (r: Req): SignedRequest => ({ method: r.method, path: r.path, query: r.query, headers: r.headers });

async function authErr(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AuthError, String(e));
    return e;
  }
  return assert.fail('expected an AuthError');
}

for (const r of doc.requests) {
  test(`S3 docs: ${r.name}`, async () => {
    const res = await authenticate(req(r), opts);
    assert.equal(res.method, 'sigv4-header');
    if (r.body !== undefined) {
      assert.equal(res.payload.kind, 'sha256');
      const v = createSha256Verifier((res.payload as { expected: string }).expected);
      await new Promise<void>((ok, ko) => Readable.from([Buffer.from(r.body!)]).pipe(v).on('data', () => {}).on('end', ok).on('error', ko));
      const bad = createSha256Verifier((res.payload as { expected: string }).expected);
      const err = await new Promise<unknown>((ok) => Readable.from([Buffer.from(r.body + '!')]).pipe(bad).on('data', () => {}).on('end', () => ok(null)).on('error', ok));
      assert.ok(err instanceof AuthError && err.kind === 'ContentSHA256Mismatch');
      assert.equal(toServiceError('s3', err).code, 'XAmzContentSHA256Mismatch');
    } else {
      assert.deepEqual(res.payload, { kind: 'sha256', expected: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    }
    // tampering with a signed header
    const h = { ...r.headers, 'x-amz-date': ['20130524T000001Z'] };
    const e = await authErr(authenticate({ ...req(r), headers: h }, opts));
    assert.equal(e.kind, 'SignatureMismatch');
    const se = toServiceError('s3', e);
    assert.equal(se.code, 'SignatureDoesNotMatch');
    assert.ok(se.fields['CanonicalRequest']!.startsWith(`${r.method}\n`));
    assert.equal(se.fields['AWSAccessKeyId'], doc.accessKeyId);
    // S3 does not normalise: a path with a dot segment is another object
    const e2 = await authErr(authenticate({ ...req(r), path: '/./' + r.path.slice(1) }, opts));
    assert.equal(e2.kind, 'SignatureMismatch');
    // without x-amz-content-sha256, S3 header auth is refused
    const { 'x-amz-content-sha256': _x, ...noSha } = r.headers;
    assert.equal((await authErr(authenticate({ ...req(r), headers: noSha }, opts))).kind, 'MissingContentSHA256');
    // wrong region
    const e3 = await authErr(authenticate(req(r), { ...opts, regions: ['eucalyptus'] }));
    assert.equal(e3.kind, 'BadRegion');
    assert.deepEqual(toServiceError('s3', e3).fields, { Region: 'eucalyptus' });
  });
}

test('S3 docs: presigned GET (X-Amz-Expires=86400)', async () => {
  const p = doc.presigned;
  const t0 = new Date(doc.now).getTime();
  const r = await authenticate(req(p), { ...opts, now: new Date(t0 + 86399_000) });
  assert.equal(r.method, 'sigv4-query');
  assert.deepEqual(r.payload, { kind: 'unsigned' });
  const exp = await authErr(authenticate(req(p), { ...opts, now: new Date(t0 + 86401_000) }));
  assert.equal(exp.kind, 'Expired');
  const se = toServiceError('s3', exp);
  assert.equal(se.code, 'AccessDenied');
  assert.equal(se.message, 'Request has expired');
  assert.equal(se.fields['X-Amz-Expires'], '86400');
  const bad = await authErr(authenticate({ ...req(p), query: p.query.replace('X-Amz-Signature=a', 'X-Amz-Signature=b') }, opts));
  assert.equal(bad.kind, 'SignatureMismatch');
  assert.equal((await authErr(authenticate({ ...req(p), path: '/test.txx' }, opts))).kind, 'SignatureMismatch');
  // an Authorization header as well: only one mechanism
  const both = { ...p.headers, authorization: doc.requests[0]!.headers['authorization']! };
  assert.equal((await authErr(authenticate({ ...req(p), headers: both }, opts))).kind, 'Malformed');
  const unknown = await authErr(authenticate(req(p), { ...opts, store: new MemoryStore() }));
  assert.equal(toServiceError('s3', unknown).code, 'InvalidAccessKeyId');
  // missing X-Amz-Expires for S3
  const noExp = p.query.replace('X-Amz-Expires=86400&', '');
  assert.equal(toServiceError('s3', await authErr(authenticate({ ...req(p), query: noExp }, opts))).code, 'AuthorizationQueryParametersError');
});

function chunkedBody(chunks: Chunk[], trailer?: string, trailerSignature?: string): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    parts.push(Buffer.from(`${c.size.toString(16)};chunk-signature=${c.signature}\r\n`));
    if (c.size > 0) parts.push(Buffer.alloc(c.size, c.byte), Buffer.from('\r\n'));
  }
  if (trailer !== undefined) parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${trailerSignature}\r\n\r\n`));
  else parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

test('S3 docs: chunked upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), seed and chunk signatures', async () => {
  const s = doc.streaming;
  const r = await authenticate(req(s), opts);
  assert.equal(r.payload.kind, 'aws-chunked');
  const body = chunkedBody(s.chunks);
  assert.equal(body.length, 66824); // the documented Content-Length
  for (const slice of [1, 7, 100, 65536, 1 << 20]) {
    const { out } = await decode(r, s.headers, body, slice === 1 ? 4096 : slice);
    assert.equal(out.length, 66560);
    assert.ok(out.every((b) => b === 0x61));
  }
  // a changed data byte
  const tampered = Buffer.from(body);
  tampered[60000] = 0x62;
  assert.equal((await authErr(decode(r, s.headers, tampered))).kind, 'SignatureMismatch');
  // a changed chunk signature
  assert.equal((await authErr(decode(r, s.headers, chunkedBody([s.chunks[0]!, { ...s.chunks[1]!, signature: '0'.repeat(64) }, s.chunks[2]!])))).kind, 'SignatureMismatch');
  // chunks reordered
  assert.equal((await authErr(decode(r, s.headers, chunkedBody([s.chunks[1]!, s.chunks[0]!, s.chunks[2]!])))).kind, 'SignatureMismatch');
  // truncated in the middle of a chunk, and at a chunk boundary without the final chunk
  const te = await authErr(decode(r, s.headers, body.subarray(0, 30000)));
  assert.equal(te.kind, 'IncompleteBody');
  assert.equal(toServiceError('s3', te).code, 'IncompleteBody');
  assert.equal((await authErr(decode(r, s.headers, chunkedBody([s.chunks[0]!]).subarray(0, -2)))).kind, 'IncompleteBody');
  // final chunk dropped, replaced by the previous signature
  assert.equal((await authErr(decode(r, s.headers, chunkedBody([s.chunks[0]!, { ...s.chunks[2]!, signature: s.chunks[1]!.signature }])))).kind, 'SignatureMismatch');
  // chunk without signature
  const noSig = Buffer.from(body.toString('latin1').replace(`400;chunk-signature=${s.chunks[1]!.signature}`, '400'), 'latin1');
  assert.equal((await authErr(decode(r, s.headers, noSig))).kind, 'SignatureMismatch');
  // garbage after the end
  assert.equal((await authErr(decode(r, s.headers, Buffer.concat([body, Buffer.from('x')])))).kind, 'Malformed');
  // decoded length disagreeing with x-amz-decoded-content-length
  assert.equal((await authErr(decode(r, { ...s.headers, 'x-amz-decoded-content-length': ['66561'] }, body))).kind, 'IncompleteBody');
  assert.equal((await authErr(decode(r, { ...s.headers, 'x-amz-decoded-content-length': ['66559'] }, body))).kind, 'Malformed');
});

test('S3 docs: chunked upload with a signed trailer (CRC32C)', async () => {
  const s = doc.streamingTrailer;
  const r = await authenticate(req(s), opts);
  assert.deepEqual({ ...r.payload, signer: undefined }, { kind: 'aws-chunked', signed: true, trailer: true, seedSignature: '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e', scope: '20130524/us-east-1/s3/aws4_request', amzDate: '20130524T000000Z', signer: undefined });
  const body = chunkedBody(s.chunks, s.trailer, s.trailerSignature);
  const { out, trailers, checksum } = await decode(r, s.headers, body, 1000);
  assert.equal(out.length, 66560);
  assert.deepEqual(trailers, { 'x-amz-checksum-crc32c': 'sOO8/Q==' });
  assert.deepEqual(checksum, { algorithm: 'CRC32C', value: 'sOO8/Q==' });
  // trailer signature changed / missing; trailer value changed (signature breaks first)
  assert.equal((await authErr(decode(r, s.headers, chunkedBody(s.chunks, s.trailer, '0'.repeat(64))))).kind, 'SignatureMismatch');
  const noTrailerSig = Buffer.from(body.toString('latin1').replace(`x-amz-trailer-signature:${s.trailerSignature}\r\n`, ''), 'latin1');
  assert.equal((await authErr(decode(r, s.headers, noTrailerSig))).kind, 'SignatureMismatch');
  assert.equal((await authErr(decode(r, s.headers, chunkedBody(s.chunks, 'x-amz-checksum-crc32c:AAAAAA==', s.trailerSignature)))).kind, 'SignatureMismatch');
  // an undeclared trailer
  assert.equal((await authErr(decode(r, s.headers, chunkedBody(s.chunks, s.trailer + '\r\nx-amz-meta-a:1', s.trailerSignature)))).kind, 'Malformed');
});
