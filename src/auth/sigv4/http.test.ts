/**
 * Over real HTTP: a node:http server on 127.0.0.1 (port 0) that authenticates every request with our verifier
 * exactly as the gateway and Walrus do (req.headersDistinct, raw path and query, streamed S3 bodies), driven by the
 * AWS SDK v3 with its real Node HTTP handler and by the aws CLI (/usr/bin/aws). Failed checks answer the mapped AWS
 * error, so the clients' own error parsing shows the code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AuthError, authenticate, createChunkedDecoder, createSha256Verifier, toServiceError, type AuthResult, type SignedRequest } from './index.js';
import { MemoryStore } from './test-util.js';

const AK = 'AKIAHTTPTEST00000001';
const SK = 'httpSecretKey/with+chars=0123456789abcdef';
const store = new MemoryStore();
store.add(AK, SK);
const objects = new Map<string, Buffer>();
const seen: { method: AuthResult['method']; payload: string; ok: boolean }[] = [];
let server: Server;
let endpoint = '';

function xmlError(code: string, message: string, s3: boolean): string {
  return s3
    ? `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`
    : `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const s3 = path !== '/';
  const signed: SignedRequest = { method: req.method ?? 'GET', path, query, headers: req.headersDistinct as Record<string, string[]> };
  try {
    if (!s3) {
      signed.body = await readAll(req);
      const r = await authenticate(signed, { service: 'sts', now: new Date(), store });
      seen.push({ method: r.method, payload: r.payload.kind, ok: true });
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
          `<Arn>${r.identity!.principal.arn}</Arn><UserId>${r.identity!.principal.userId}</UserId><Account>${r.identity!.principal.accountId}</Account>` +
          '</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
      );
      return;
    }
    const r = await authenticate(signed, { service: 's3', now: new Date(), store, regions: ['us-east-1'] });
    const key = decodeURIComponent(path);
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(c: Buffer, _e, cb): void {
          chunks.push(c);
          cb();
        },
      });
      if (r.payload.kind === 'aws-chunked') await pipeline(req, createChunkedDecoder(r, signed.headers), sink);
      else if (r.payload.kind === 'sha256') await pipeline(req, createSha256Verifier(r.payload.expected), sink);
      else await pipeline(req, sink);
      objects.set(key, Buffer.concat(chunks));
      seen.push({ method: r.method, payload: r.payload.kind, ok: true });
      res.writeHead(200, { etag: '"0"' });
      res.end();
      return;
    }
    await readAll(req);
    seen.push({ method: r.method, payload: r.payload.kind, ok: true });
    const body = objects.get(key);
    if (!body) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : xmlError('NoSuchKey', 'The specified key does not exist.', true));
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length), 'last-modified': new Date(0).toUTCString(), etag: '"0"', 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (e) {
    if (!(e instanceof AuthError)) throw e;
    seen.push({ method: 'anonymous', payload: e.kind, ok: false });
    const err = toServiceError(s3 ? 's3' : 'sts', e);
    req.resume();
    res.writeHead(err.status, { 'content-type': 'application/xml', connection: 'close' });
    res.end(req.method === 'HEAD' ? undefined : xmlError(err.code, err.message, s3));
  }
}

before(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

const errorCode = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e as { name?: string; Code?: string }).Code ?? (e as { name: string }).name,
  );

test('SDK v3 over HTTP: STS and S3 (buffered and streamed bodies, awkward keys) verify; bad keys get the AWS codes', async () => {
  const creds = { accessKeyId: AK, secretAccessKey: SK };
  const sts = new STSClient({ region: 'us-east-1', endpoint, credentials: creds, maxAttempts: 1 });
  const id = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(id.Account, '000000000001');
  const badSts = new STSClient({ region: 'us-east-1', endpoint, credentials: { ...creds, secretAccessKey: 'wrong' }, maxAttempts: 1 });
  assert.equal(await errorCode(badSts.send(new GetCallerIdentityCommand({}))), 'SignatureDoesNotMatch');
  const unknownSts = new STSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIANOBODY', secretAccessKey: SK }, maxAttempts: 1 });
  assert.equal(await errorCode(unknownSts.send(new GetCallerIdentityCommand({}))), 'InvalidClientTokenId');

  const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: creds, maxAttempts: 1 });
  const data = Buffer.alloc(200_000, 'z');
  for (const Key of ['plain', 'dir/a b+c~(1).txt', 'ü/日本語 ключ', "x!$&'()*,;=:@"]) {
    await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key, Body: data }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), Key);
  }
  const { Readable } = await import('node:stream');
  await s3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'streamed', Body: Readable.from([data.subarray(0, 100), data.subarray(100)]), ContentLength: data.length, ChecksumAlgorithm: 'CRC32C' }));
  assert.ok(objects.get('/bkt/streamed')?.equals(data));
  assert.ok(seen.some((s) => s.payload === 'aws-chunked' && s.ok));
  const badS3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { ...creds, secretAccessKey: 'wrong' }, maxAttempts: 1 });
  assert.equal(await errorCode(badS3.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'k', Body: 'x' }))), 'SignatureDoesNotMatch');
  const wrongRegion = new S3Client({ region: 'eu-west-1', endpoint, forcePathStyle: true, credentials: creds, maxAttempts: 1 });
  assert.equal(await errorCode(wrongRegion.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'plain' }))), 'AuthorizationHeaderMalformed');
});

test('aws CLI (/usr/bin/aws 2.9) over HTTP: s3 cp up and down, sts get-caller-identity', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigv4-cli-'));
  try {
    const file = join(dir, 'in file.bin');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    writeFileSync(file, data);
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: dir,
      AWS_ACCESS_KEY_ID: AK,
      AWS_SECRET_ACCESS_KEY: SK,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    const run = (args: string[], extraEnv: Record<string, string> = {}) =>
      promisify(execFile)('/usr/bin/aws', ['--endpoint-url', endpoint, ...args], { env: { ...env, ...extraEnv }, timeout: 120_000 });
    await run(['s3', 'cp', file, 's3://bkt/cli/up load.bin']);
    assert.ok(objects.get('/bkt/cli/up load.bin')?.equals(data));
    await run(['s3', 'cp', 's3://bkt/cli/up load.bin', join(dir, 'out.bin')]);
    assert.ok(readFileSync(join(dir, 'out.bin')).equals(data));
    const who = await run(['sts', 'get-caller-identity', '--output', 'json']);
    assert.equal((JSON.parse(who.stdout) as { Account: string }).Account, '000000000001');
    const bad = await run(['sts', 'get-caller-identity'], { AWS_SECRET_ACCESS_KEY: 'nope' }).then(
      () => '',
      (e: unknown) => String((e as { stderr?: string }).stderr),
    );
    assert.match(bad, /SignatureDoesNotMatch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
