/**
 * Bad input never crashes: thousands of mutated requests and aws-chunked bodies either verify or fail with an
 * AuthError (which maps to a 4xx AWS error), never with another exception. Deterministic PRNG, bounded loops.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AuthError, authenticate, toServiceError, type SignedRequest, type VerifyOptions } from './index.js';
import { MemoryStore, decode } from './test-util.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sigv4');
let seed = 0x5eed;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const JUNK = ['%', '%zz', '%2', '=', '&', ';', ',', ' ', '\t', 'ሴ', '\u0000', '/', '..', '+', 'AWS4-HMAC-SHA256', 'Credential=', 'X-Amz-Signature=', '0'.repeat(64), 'AWS ', ':', '\r\n'];

function mutateString(s: string): string {
  const i = rnd(s.length + 1);
  switch (rnd(4)) {
    case 0:
      return s.slice(0, i) + JUNK[rnd(JUNK.length)]! + s.slice(i);
    case 1:
      return s.slice(0, i) + s.slice(i + 1 + rnd(8));
    case 2:
      return s.slice(0, i);
    default:
      return s.slice(0, i) + String.fromCharCode(32 + rnd(95)) + s.slice(i + 1);
  }
}

function mutate(req: SignedRequest): SignedRequest {
  const r: SignedRequest = { ...req, headers: { ...req.headers } };
  const names = Object.keys(r.headers);
  switch (rnd(5)) {
    case 0:
      r.path = mutateString(r.path);
      break;
    case 1:
      r.query = mutateString(r.query);
      break;
    case 2: {
      const n = names[rnd(names.length)]!;
      r.headers[n] = (r.headers[n] ?? ['']).map(mutateString);
      break;
    }
    case 3:
      delete r.headers[names[rnd(names.length)]!];
      break;
    default:
      r.method = mutateString(r.method);
  }
  return r;
}

test('mutated requests: verified or AuthError, never a crash', async () => {
  const suite = JSON.parse(readFileSync(join(FIX, 'suite.json'), 'utf8')) as { cases: { method: string; path: string; query: string; headers: Record<string, string[]>; authorization: string }[] };
  const s3 = JSON.parse(readFileSync(join(FIX, 's3-docs.json'), 'utf8')) as { requests: SignedRequest[]; presigned: SignedRequest; streaming: SignedRequest };
  const v2 = JSON.parse(readFileSync(join(FIX, 'sigv2-docs.json'), 'utf8')) as { s3: SignedRequest[]; query: SignedRequest };
  const store = new MemoryStore();
  store.add('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
  store.add('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  const bases: [SignedRequest, VerifyOptions][] = [
    ...suite.cases.map((c): [SignedRequest, VerifyOptions] => [
      { method: c.method, path: c.path, query: c.query, headers: { ...c.headers, authorization: [c.authorization] }, body: Buffer.alloc(0) },
      { service: 'iam', signingName: 'service', now: new Date('2015-08-30T12:36:00Z'), store },
    ]),
    ...[...s3.requests, s3.presigned, s3.streaming].map((r): [SignedRequest, VerifyOptions] => [
      { method: r.method, path: r.path, query: r.query, headers: r.headers },
      { service: 's3', now: new Date('2013-05-24T00:00:00Z'), store, allowAnonymous: rnd(2) === 0 },
    ]),
    ...v2.s3.map((r): [SignedRequest, VerifyOptions] => [{ method: r.method, path: r.path, query: r.query, headers: r.headers }, { service: 's3', now: new Date('2007-03-27T20:00:00Z'), store }]),
    [{ ...v2.query, headers: v2.query.headers }, { service: 'ec2', now: new Date('2011-10-03T15:19:30Z'), store }],
  ];
  let verified = 0;
  let failed = 0;
  for (let i = 0; i < 6000; i++) {
    const [base, opts] = bases[rnd(bases.length)]!;
    let r = base;
    for (let k = 1 + rnd(3); k > 0; k--) r = mutate(r);
    try {
      await authenticate(r, opts);
      verified++;
    } catch (e) {
      if (!(e instanceof AuthError)) assert.fail(`non-AuthError ${String(e)} for ${JSON.stringify(r)}`);
      const svc = toServiceError(opts.service, e);
      assert.ok(svc.status >= 400 && svc.status < 500, `${svc.code} ${svc.status}`);
      failed++;
    }
  }
  assert.ok(failed > 3000 && verified > 0, `${verified} verified, ${failed} failed`);
});

test('mutated aws-chunked bodies: decoded or AuthError, never a crash', async () => {
  const s3 = JSON.parse(readFileSync(join(FIX, 's3-docs.json'), 'utf8')) as {
    streamingTrailer: SignedRequest & { chunks: { size: number; byte: string; signature: string }[]; trailer: string; trailerSignature: string };
  };
  const st = s3.streamingTrailer;
  const store = new MemoryStore();
  store.add('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  const r = await authenticate({ method: st.method, path: st.path, query: st.query, headers: st.headers }, { service: 's3', now: new Date('2013-05-24T00:00:00Z'), store });
  const small = (c: { size: number; signature: string }, data: string): string => `${c.size.toString(16)};chunk-signature=${c.signature}\r\n${data}${c.size ? '\r\n' : ''}`;
  const good =
    small(st.chunks[0]!, 'a'.repeat(65536)) + small(st.chunks[1]!, 'a'.repeat(1024)) + small(st.chunks[2]!, '') + `${st.trailer}\r\nx-amz-trailer-signature:${st.trailerSignature}\r\n\r\n`;
  assert.equal((await decode(r, st.headers, Buffer.from(good))).out.length, 66560);
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    // mutate outside the 64 KiB of data most of the time, so framing is what gets hit
    let text = good;
    const at = rnd(4) === 0 ? rnd(text.length) : [0, 65600, 66700, text.length - 120][rnd(4)]! + rnd(100);
    text = text.slice(0, at) + mutateString(text.slice(at, at + 12)) + text.slice(at + 12);
    try {
      await decode(r, st.headers, Buffer.from(text, 'latin1'), 1 + rnd(70000));
    } catch (e) {
      if (!(e instanceof AuthError)) assert.fail(`non-AuthError ${String(e)}`);
      assert.ok(toServiceError('s3', e).status === 400 || toServiceError('s3', e).status === 403);
      rejected++;
    }
  }
  assert.ok(rejected > 300, `${rejected} rejected`);
});
