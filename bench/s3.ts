/**
 * Walrus benchmarks, each next to a reference measured in the same run (`node --import tsx bench/s3.ts`):
 * - PUT of a 1 GiB object (MD5 + fsync) vs `dd conv=fdatasync` of the same size;
 * - GET of a 1 GiB object vs nginx serving the same file, both read by `curl -o /dev/null`;
 * - 4 KiB objects, 16 connections, wrk against a bucket whose policy allows anonymous PUT and GET;
 * - BENCH_BIG_GB=5: a multipart upload of that size with lib-storage and its download, compared by sha256, with the
 *   Walrus process's peak RSS.
 * Everything on 127.0.0.1; processes started here are stopped by PID.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { S3Client, CreateBucketCommand, PutBucketPolicyCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { accessKeyId, accountId, secretAccessKey } from '../src/shared/index.js';
import { signer, type TestUser } from '../test/e2e/s3-helpers.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'walrus-bench-'));
const acct = accountId();
const u: TestUser = { accessKeyId: accessKeyId(), secretAccessKey: secretAccessKey(), principal: { kind: 'user', accountId: acct, userId: 'x', userName: 'admin', arn: 'x', isCloudAdmin: false, isAccountAdmin: true } };
const children: ChildProcess[] = [];
const results: string[] = [];
const log = (s: string) => { console.log(s); results.push(s); };

function freePort(): Promise<number> {
  return new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
}

async function startWalrus(): Promise<{ port: number; pid: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../test/e2e/s3-server.ts')], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '64', EUCA_LOG_LEVEL: 'warn', WALRUS_DIR: join(dir, 'walrus'), WALRUS_DB: join(dir, 'walrus.db'), WALRUS_KEYS: JSON.stringify([{ accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey, accountId: acct }]) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  const line = await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r));
  return { port: (JSON.parse(line) as { port: number }).port, pid: proc.pid! };
}

function rssPeak(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function timed(f: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function putFile(port: number, path: string, file: string): Promise<void> {
  const size = statSync(file).size;
  const signed = await signer(u).sign({ method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port, path, query: {}, headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(size) } });
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', headers: signed.headers as Record<string, string> }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: MB }).pipe(req);
  });
}

function curlGet(url: string): void {
  execFileSync('curl', ['-sf', '-o', '/dev/null', url]);
}

async function main(): Promise<void> {
  const w = await startWalrus();
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${w.port}`, region: 'eucalyptus', forcePathStyle: true, credentials: u });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: 'bench', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::bench/*' }] }) }));
  log(`machine: ${execFileSync('nproc').toString().trim()} cores; data dir ${dir}`);

  // ---- 1 GiB PUT vs dd conv=fdatasync
  const src = join(dir, 'src-1g.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=1024', 'status=none']);
  const ddT = await timed(() => { execFileSync('dd', [`if=${src}`, `of=${join(dir, 'dd-out.bin')}`, 'bs=1M', 'conv=fdatasync', 'status=none']); });
  rmSync(join(dir, 'dd-out.bin'));
  const putT = await timed(() => putFile(w.port, '/bench/big-1g', src));
  log(`PUT 1 GiB: walrus ${(1024 / putT).toFixed(0)} MiB/s vs dd conv=fdatasync ${(1024 / ddT).toFixed(0)} MiB/s (${((ddT / putT) * 100).toFixed(0)}%)`);

  // ---- 1 GiB GET vs nginx on the same file
  const blobs = join(dir, 'walrus', 'blobs');
  const blobFile = readdirSync(blobs).flatMap((d) => readdirSync(join(blobs, d)).map((f) => join(blobs, d, f))).find((f) => statSync(f).size === GB)!;
  const nport = await freePort();
  const nconf = join(dir, 'nginx.conf');
  writeFileSync(nconf, `daemon off; user root; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'nginx.err')};
events { worker_connections 256; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${nport}; location / { root ${join(blobs, blobFile.split('/').slice(-2, -1)[0]!)}; } } }\n`);
  const nginx = spawn('/usr/sbin/nginx', ['-c', nconf, '-p', dir], { stdio: 'ignore' });
  children.push(nginx);
  await new Promise((r) => setTimeout(r, 500));
  curlGet(`http://127.0.0.1:${nport}/${blobFile.split('/').pop()}`); // warm
  const ngT = Math.min(await timed(() => curlGet(`http://127.0.0.1:${nport}/${blobFile.split('/').pop()}`)), await timed(() => curlGet(`http://127.0.0.1:${nport}/${blobFile.split('/').pop()}`)));
  const getT = Math.min(await timed(() => curlGet(`http://127.0.0.1:${w.port}/bench/big-1g`)), await timed(() => curlGet(`http://127.0.0.1:${w.port}/bench/big-1g`)));
  log(`GET 1 GiB: walrus ${(1024 / getT).toFixed(0)} MiB/s vs nginx ${(1024 / ngT).toFixed(0)} MiB/s (${((ngT / getT) * 100).toFixed(0)}%)`);

  // ---- 4 KiB objects with wrk, 16 connections (anonymous via bucket policy)
  const lua = join(dir, 'put.lua');
  writeFileSync(lua, `local body = string.rep("x", 4096)\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("PUT", "/bench/small/" .. math.random(1, 1000000) .. "-" .. n, {["Content-Length"] = "4096"}, body)\nend\n`);
  const wrk = (args: string[]) => execFileSync('wrk', ['-t2', '-c16', '-d10s', '--latency', ...args]).toString();
  const summarize = (out: string) => {
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
    const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1];
    const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
    return `${Number(rps).toFixed(0)} req/s, p99 ${p99}, non-2xx ${errs}`;
  };
  log(`4 KiB PUT (wrk, 16 conns, anonymous by policy): ${summarize(wrk(['-s', lua, `http://127.0.0.1:${w.port}/bench/`]))}`);
  await putFile(w.port, '/bench/one-4k', (writeFileSync(join(dir, '4k'), randomBytes(4096)), join(dir, '4k')));
  log(`4 KiB GET (wrk, 16 conns, anonymous by policy): ${summarize(wrk([`http://127.0.0.1:${w.port}/bench/one-4k`]))}`);
  log(`4 KiB GET from nginx (reference): ${summarize(wrk([`http://127.0.0.1:${nport}/${blobFile.split('/').pop()}`, '-H', 'Range: bytes=0-4095']))}`);

  // ---- the signed path: wrk replaying pre-signed URLs (SigV4 query auth, verified per request) into a private bucket
  await s3.send(new CreateBucketCommand({ Bucket: 'signed' }));
  await putFile(w.port, '/signed/one-4k', join(dir, '4k'));
  const N = 20_000;
  const presign = async (method: string, path: string) => {
    const r = await signer(u).presign(
      { method, protocol: 'http:', hostname: '127.0.0.1', port: w.port, path, query: {}, headers: { host: `127.0.0.1:${w.port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
      { expiresIn: 3600, unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) },
    );
    return `${path}?${Object.entries(r.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}`;
  };
  const puts: string[] = [];
  for (let i = 0; i < N; i++) puts.push(await presign('PUT', `/signed/small/${i}`));
  const gets: string[] = [];
  for (let i = 0; i < 1000; i++) gets.push(await presign('GET', '/signed/one-4k'));
  const luaList = (name: string, urls: string[]) => `local ${name} = {\n${urls.map((x) => `"${x}"`).join(',\n')}\n}\n`;
  const sput = join(dir, 'sput.lua');
  writeFileSync(sput, `${luaList('urls', puts)}local body = string.rep("x", 4096)\nlocal i = 0\nrequest = function()\n  i = i + 1\n  if i > #urls then i = 1 end\n  return wrk.format("PUT", urls[i], {["Content-Length"] = "4096"}, body)\nend\n`);
  const sget = join(dir, 'sget.lua');
  writeFileSync(sget, `${luaList('urls', gets)}local i = 0\nrequest = function()\n  i = i + 1\n  if i > #urls then i = 1 end\n  return wrk.format("GET", urls[i])\nend\n`);
  log(`4 KiB PUT, pre-signed (SigV4 query) URLs replayed by wrk, 16 conns: ${summarize(wrk(['-s', sput, `http://127.0.0.1:${w.port}/`]))}`);
  log(`4 KiB GET, pre-signed (SigV4 query) URLs replayed by wrk, 16 conns: ${summarize(wrk(['-s', sget, `http://127.0.0.1:${w.port}/`]))}`);
  log(`walrus peak RSS so far: ${rssPeak(w.pid).toFixed(0)} MiB`);

  // ---- big multipart upload + download, sha256, RSS
  const bigGb = Number(process.env.BENCH_BIG_GB ?? 0);
  if (bigGb > 0) {
    const bigFile = join(dir, 'big.bin');
    execFileSync('bash', ['-c', `for i in $(seq 1 ${bigGb}); do cat ${src}; done > ${bigFile}; head -c 12345 /dev/urandom >> ${bigFile}`]);
    const want = createHash('sha256');
    for await (const c of createReadStream(bigFile, { highWaterMark: 4 * MB })) want.update(c as Buffer);
    const wantHex = want.digest('hex');
    const upT = await timed(async () => {
      await new Upload({ client: s3, params: { Bucket: 'bench', Key: 'huge', Body: createReadStream(bigFile, { highWaterMark: 8 * MB }) }, partSize: 64 * MB, queueSize: 4 }).done();
    });
    const got = createHash('sha256');
    const downT = await timed(async () => {
      const r = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'huge' }));
      for await (const c of r.Body as AsyncIterable<Uint8Array>) got.update(c);
    });
    const gotHex = got.digest('hex');
    const size = statSync(bigFile).size / GB;
    log(`${size.toFixed(2)} GiB multipart upload (lib-storage, 64 MiB parts) ${(size * 1024 / upT).toFixed(0)} MiB/s, download ${(size * 1024 / downT).toFixed(0)} MiB/s, sha256 ${gotHex === wantHex ? 'equal' : `DIFFERENT ${gotHex} vs ${wantHex}`}`);
    log(`walrus peak RSS over the whole run (VmHWM): ${rssPeak(w.pid).toFixed(0)} MiB`);
    rmSync(bigFile);
  }
  s3.destroy();
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'out', 's3.last.txt'), `${results.join('\n')}\n`);
}
