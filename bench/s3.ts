/**
 * Walrus benchmarks, each next to a reference measured in the same run (`node --import tsx bench/s3.ts`):
 * - PUT of a 1 GiB object (MD5 + fsync) sent by `curl -T` vs `dd conv=fdatasync` of the same file;
 * - GET of a 1 GiB object vs nginx serving the very blob file Walrus wrote, both read by `curl -o /dev/null`, both
 *   from a warm page cache;
 * - 4 KiB objects, 16 connections, wrk against a bucket whose policy allows anonymous PUT and GET, and wrk replaying
 *   pre-signed URLs (the signed path), with the Walrus process's CPU time per request (insensitive to other load);
 * - BENCH_BIG_GB=5: a multipart upload of that size with lib-storage and its download, compared by sha256, with the
 *   Walrus process's peak RSS.
 * Big-object figures are BENCH_ROUNDS rounds (default 3), Walrus and its reference back to back in each round (order
 * alternating); reported: the median of the per-round ratios, with every round. The load average is printed with
 * every section. BENCH_ONLY=big,small,signed picks sections (smallput, smallget: half of small); BENCH_PROF=<dir> writes a CPU profile of Walrus there.
 * Everything on 127.0.0.1; processes started here are stopped by PID.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../src/main/testing.js';
import { S3Client, CreateBucketCommand, PutBucketPolicyCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { accessKeyId, accountId, secretAccessKey } from '../src/shared/index.js';
import { signer, type TestUser } from '../test/e2e/s3-helpers.js';
import { parseWrk, type WrkSummary } from './wrk.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'big,small,signed').split(','));
const PROF = process.env.BENCH_PROF;
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'walrus-bench-'));
const acct = accountId();
const u: TestUser = { accessKeyId: accessKeyId(), secretAccessKey: secretAccessKey(), principal: { kind: 'user', accountId: acct, userId: 'x', userName: 'admin', arn: 'x', isCloudAdmin: false, isAccountAdmin: true } };
const children: ChildProcess[] = [];
const results: string[] = [];
const log = (s: string) => { console.log(s); results.push(s); };
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

async function startWalrus(): Promise<{ port: number; pid: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []), '--import', 'tsx', join(import.meta.dirname, '../test/e2e/s3-server.ts')], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '64', EUCA_LOG_LEVEL: 'warn', WALRUS_DIR: join(dir, 'walrus'), WALRUS_DB: join(dir, 'walrus.db'), WALRUS_KEYS: JSON.stringify([{ accessKeyId: u.accessKeyId, secretAccessKey: u.secretAccessKey, accountId: acct }]) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  const line = await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r));
  return { port: (JSON.parse(line) as { port: number }).port, pid: proc.pid!, proc };
}

function rssPeak(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
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
    createReadStream(file, { highWaterMark: 4 * MB }).pipe(req);
  });
}

function curlGet(url: string): void {
  execFileSync('curl', ['-sf', '-o', '/dev/null', url]);
}

/** Rounds of (Walrus, reference) timings, order alternating; logs each round and returns the median ratio ref/walrus time. */
async function rounds(what: string, walrus: () => Promise<void> | void, ref: () => Promise<void> | void, refName: string): Promise<void> {
  const ratios: number[] = [];
  const rows: string[] = [];
  const la = loadavg();
  // `sync` before each measurement (outside it): no dirty data of anything earlier is written back during it
  const measure = async (f: () => Promise<void> | void) => { execFileSync('sync'); return timed(f); };
  for (let i = 0; i < ROUNDS; i++) {
    let tw = 0;
    let tr = 0;
    if (i % 2 === 0) {
      tw = await measure(walrus);
      tr = await measure(ref);
    } else {
      tr = await measure(ref);
      tw = await measure(walrus);
    }
    ratios.push(tr / tw);
    rows.push(`${(1024 / tw).toFixed(0)} vs ${(1024 / tr).toFixed(0)} (${((tr / tw) * 100).toFixed(0)}%)`);
  }
  log(`${what}: median of per-round ratios ${(median(ratios) * 100).toFixed(0)}% of ${refName}; rounds walrus vs ${refName} MiB/s: ${rows.join(', ')}; load ${la} -> ${loadavg()}`);
}

async function wrkRun(pid: number | undefined, args: string[], seconds = 10): Promise<WrkSummary & { cpuUs?: number }> {
  const c0 = pid ? cpuSeconds(pid) : 0;
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t2', '-c16', `-d${seconds}s`, '--latency', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d: Buffer) => { s += d.toString(); });
    p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`wrk exited ${code}`))));
  });
  const r = parseWrk(out);
  return pid ? { ...r, cpuUs: ((cpuSeconds(pid) - c0) / Math.max(r.requests, 1)) * 1e6 } : r;
}

function fmt(r: WrkSummary & { cpuUs?: number }): string {
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms${r.cpuUs !== undefined ? `, walrus CPU ${r.cpuUs.toFixed(0)} µs/req` : ''}${r.non2xx ? `, NON-2xx ${r.non2xx}` : ''}`;
}

function startNginx(port: number, root: string): void {
  const nconf = join(dir, 'nginx.conf');
  // master_process off: one process, so stopping it by PID stops it all
  writeFileSync(nconf, `daemon off; master_process off; user root; worker_processes 1; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'nginx.err')};
events { worker_connections 256; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { root ${root}; } } }\n`);
  children.push(spawn('/usr/sbin/nginx', ['-c', nconf, '-p', dir], { stdio: 'ignore' }));
}

async function main(): Promise<void> {
  const w = await startWalrus();
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${w.port}`, region: 'eucalyptus', forcePathStyle: true, credentials: u });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: 'bench', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::bench/*' }] }) }));
  log(`machine: ${execFileSync('nproc').toString().trim()} cores; data dir ${dir}; ${ROUNDS} rounds; load average ${loadavg()}`);

  const nport = await freePort();
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'one-4k'), randomBytes(4096));
  startNginx(nport, www);
  const src = join(dir, 'src-1g.bin');
  if (ONLY.has('big') || Number(process.env.BENCH_BIG_GB ?? 0) > 0) {
    // ---- 1 GiB PUT vs dd conv=fdatasync, the same source file (in the page cache for both)
    execFileSync('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=1024', 'status=none']);
    execFileSync('sync');
    let n = 0;
    let d = 0;
    await rounds('PUT 1 GiB (MD5 + fsync; curl -T, anonymous by policy)', () => {
      // curl sends, as it reads for the GET below: the client costs what it costs and no more
      const r = spawnSync('curl', ['-sf', '-v', '--trace-time', '-o', '/dev/null', '-H', 'Expect:', '-T', src, `http://127.0.0.1:${w.port}/bench/big-1g-${n++}`]);
      if (r.status !== 0) throw new Error(`curl -T exited ${r.status}`);
      const out = r.stderr.toString();
      if (process.env.BENCH_DEBUG) console.log(out.split('\n').filter((l) => /upload|HTTP\/1.1 200|Connected/i.test(l)).join('\n'));
    }, () => {
      execFileSync('dd', [`if=${src}`, `of=${join(dir, `dd-out-${d++}.bin`)}`, 'bs=1M', 'conv=fdatasync', 'status=none']);
    }, 'dd conv=fdatasync');
    for (let i = 0; i < d; i++) rmSync(join(dir, `dd-out-${i}.bin`));

    // ---- 1 GiB GET vs nginx on the same blob file, both warm
    const blobs = join(dir, 'walrus', 'blobs');
    const blobFile = readdirSync(blobs).flatMap((d) => readdirSync(join(blobs, d)).map((f) => join(blobs, d, f))).find((f) => statSync(f).size === GB)!;
    // nginx serves the very file Walrus stores (a hard link to it), so both read the same bytes from the same cache
    linkSync(blobFile, join(www, 'big'));
    const viaNginx = `http://127.0.0.1:${nport}/big`;
    const viaWalrus = `http://127.0.0.1:${w.port}/bench/${await keyOfBlob(n, blobFile.split('/').pop()!)}`;
    curlGet(viaNginx); // warm the page cache (the same file for both)
    curlGet(viaWalrus);
    await rounds('GET 1 GiB (curl -o /dev/null)', () => curlGet(viaWalrus), () => curlGet(viaNginx), 'nginx sendfile');
  }

  if (ONLY.has('small') || ONLY.has('smallput')) {
    // ---- 4 KiB objects with wrk, 16 connections (anonymous via bucket policy)
    const lua = join(dir, 'put.lua');
    writeFileSync(lua, `local body = string.rep("x", 4096)\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("PUT", "/bench/small/" .. math.random(1, 1000000) .. "-" .. n, {["Content-Length"] = "4096"}, body)\nend\n`);
    await wrkRun(undefined, ['-s', lua, `http://127.0.0.1:${w.port}/bench/`], 3); // warm-up (JIT), not reported
    log(`load average before the small-object runs: ${loadavg()}`);
    log(`4 KiB PUT (wrk, 16 conns, anonymous by policy): ${fmt(await wrkRun(w.pid, ['-s', lua, `http://127.0.0.1:${w.port}/bench/`]))}; load ${loadavg()}`);
  }
  if (ONLY.has('small') || ONLY.has('smallget')) {
    writeFileSync(join(dir, '4k'), randomBytes(4096));
    await putFile(w.port, '/bench/one-4k', join(dir, '4k'));
    log(`4 KiB GET (wrk, 16 conns, anonymous by policy): ${fmt(await wrkRun(w.pid, [`http://127.0.0.1:${w.port}/bench/one-4k`]))}; load ${loadavg()}`);
    log(`4 KiB GET from nginx (reference): ${fmt(await wrkRun(undefined, [`http://127.0.0.1:${nport}/one-4k`]))}`);
  }

  if (ONLY.has('signed')) {
    // ---- the signed path: wrk replaying pre-signed URLs (SigV4 query auth, verified per request) into a private bucket
    await s3.send(new CreateBucketCommand({ Bucket: 'signed' }));
    writeFileSync(join(dir, '4k'), randomBytes(4096));
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
    log(`4 KiB PUT, pre-signed (SigV4 query) URLs replayed by wrk, 16 conns: ${fmt(await wrkRun(w.pid, ['-s', sput, `http://127.0.0.1:${w.port}/`]))}; load ${loadavg()}`);
    log(`4 KiB GET, pre-signed (SigV4 query) URLs replayed by wrk, 16 conns: ${fmt(await wrkRun(w.pid, ['-s', sget, `http://127.0.0.1:${w.port}/`]))}; load ${loadavg()}`);
  }
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
  if (PROF) {
    // a clean exit writes the CPU profile
    await new Promise<void>((r) => { w.proc.once('exit', () => r()); w.proc.kill('SIGTERM'); });
  }
}

/** Which of the big keys is stored in `blobName` (all hold the same bytes; the GET must read the file nginx serves). */
async function keyOfBlob(n: number, blobName: string): Promise<string> {
  const { openDatabase } = await import('../src/db/index.js');
  const db = await openDatabase({ kind: 'sqlite', file: join(dir, 'walrus.db') });
  try {
    for (let i = 0; i < n; i++) {
      const r = await db.db.selectFrom('walrus_objects').select('blobs').where('bucket', '=', 'bench').where('key', '=', `big-1g-${i}`).executeTakeFirst() as { blobs: string } | undefined;
      if (r && r.blobs.includes(blobName)) return `big-1g-${i}`;
    }
  } finally {
    await db.close();
  }
  throw new Error(`no key stores ${blobName}`);
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'out', 's3.last.txt'), `${results.join('\n')}\n`);
}
