/**
 * bench/api: signed EC2 DescribeRegions through the whole gateway (signature, parse, authorize, handler, serialize)
 * with 32 concurrent keep-alive connections on loopback, next to a bare node:http server answering a fixed body,
 * measured in the same run with the same load generator (wrk, a separate process, one thread, same settings).
 *
 * Run: node --import tsx bench/api.ts [--duration 8] [--rounds 5] [--pin] [--log file|silent] [--bare-plain] [--in-process]
 *        [--only bare,admin,user] [--profile DIR]
 *      (--profile writes one CPU profile of this process per target, over its measured runs)
 *      (needs wrk: Debian package wrk; --pin needs taskset from util-linux)
 *
 * Three targets, each warmed up first, then measured in `rounds` rounds whose order rotates (so neither side always
 * runs first or last while the machine's load drifts):
 * - bare:  node:http answering a fixed 26-byte body (the reference), sent the admin's signed request byte for byte;
 * - admin: DescribeRegions signed by the cloud admin (the policy engine's cloud-admin rule);
 * - user:  DescribeRegions signed by an ordinary IAM user of another account whose inline policy allows
 *          `ec2:Describe*` (identity policies loaded, compiled and cached per credential, then evaluated per request).
 * Reported per target: the median over rounds of requests/s, p50 and p99 latency, and the server's CPU time per
 * request (user+system of this process divided by the requests served: much less sensitive to other processes' load);
 * for the gateway targets also the median of the per-round ratios to the bare server measured in the same round, which
 * is the figure compared with the target (a round where other processes starve one side shows up as an outlier).
 * `--log file` (the default) gives the gateway the logger `euca run` uses (pino, level info, one access-log line
 * per request, asynchronous destination) writing to a temporary file; `--log silent` drops logging.
 * `--pin` runs wrk on CPU 1 and this process on CPU 0.
 * Each request is signed once (a SigV4 signature stays valid for 15 minutes) and replayed by wrk, so the run must
 * stay under ~14 minutes; the verifier does the full work on every request (no cache of signatures or results).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { startTestCloud } from '../src/main/testing.js';
import type { Gateway } from '../src/api/gateway/index.js';
import { createLogger, silentLogger } from '../src/shared/index.js';
import { Sha256 } from '../test/api/sha256.js';
import { parseWrk } from './wrk.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const duration = Number(arg('duration') ?? 8);
const rounds = Number(arg('rounds') ?? 5);
const pin = process.argv.includes('--pin');
const barePlain = process.argv.includes('--bare-plain');
const inProcess = process.argv.includes('--in-process');
const logMode = arg('log') ?? 'file';
const only = arg('only')?.split(',');
const profileDir = arg('profile');
const connections = 32;
if (!(duration > 0 && rounds > 0) || !['file', 'silent'].includes(logMode)) {
  console.error('usage: bench/api.ts [--duration seconds] [--rounds n] [--pin] [--log file|silent] [--bare-plain] [--in-process]');
  process.exit(2);
}
if ((duration * rounds * 3 + 30) > 13 * 60) {
  console.error('duration × rounds too long: the replayed signatures expire after 15 minutes');
  process.exit(2);
}

interface WrkResult { rps: number; p50: number; p99: number; non2xx: number; requests: number; cpuUsPerReq: number }

/** wrk runs as a child process; the servers under test live in this process, so it must not block the event loop. */
async function wrk(url: string, script: string, seconds: number): Promise<WrkResult> {
  const wrkArgs = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url];
  const [cmd, args] = pin ? ['taskset', ['-c', '1', 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
  const cpu0 = process.cpuUsage();
  const { stdout } = await promisify(execFile)(cmd, args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const cpu = process.cpuUsage(cpu0);
  const r = parseWrk(stdout);
  return { ...r, cpuUsPerReq: r.requests > 0 ? (cpu.user + cpu.system) / r.requests : NaN };
}

function luaPost(headers: Record<string, string>, body: string): string {
  const q = (s: string) => JSON.stringify(s);
  return ['wrk.method = "POST"', `wrk.body = ${q(body)}`, ...Object.entries(headers).map(([k, v]) => `wrk.headers[${q(k)}] = ${q(v)}`)].join('\n') + '\n';
}

/**
 * `--in-process`: the gateway's request handler driven directly with the smallest request/response objects it uses
 * (the body is already buffered, as node:http holds a small body that came in the same read as the headers; read by
 * events, it is delivered on the next tick), one request at a time. Measures the gateway's own work
 * (body read, signature, parse, policy, handler, serializer, access line) without node:http and the kernel, so it is
 * far less sensitive to other processes than the wire figures.
 */
async function inProcessCost(gateway: Gateway, headers: Record<string, string>, path: string, body: string): Promise<number> {
  const distinct = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]]));
  const joined = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const bodyBuf = Buffer.from(body);
  class FakeRequest extends EventEmitter {
    method = 'POST'; url = path; headersDistinct = distinct; headers = joined; socket = { remoteAddress: '127.0.0.1' }; destroyed = false;
    override on(event: string, f: (...a: unknown[]) => void): this {
      super.on(event, f);
      if (event === 'end') process.nextTick(() => { this.emit('data', bodyBuf); this.emit('end'); });
      return this;
    }
    resume(): this { return this; }
    pause(): this { return this; }
    // the body is already buffered, as node holds a small body that came with the headers
    readableLength = bodyBuf.length;
    read(): Buffer | null { const b = this.readableLength ? bodyBuf : null; this.readableLength = 0; return b; }
  }
  let status = 0;
  const one = () => new Promise<void>((resolve) => {
    const res = { headersSent: false, writeHead(s: number) { status = s; }, end() { this.headersSent = true; resolve(); } };
    gateway.handle(new FakeRequest() as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
  const batch = async (n: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await one();
    return Number(process.hrtime.bigint() - t) / n / 1000;
  };
  await batch(20000);
  if (status !== 200) throw new Error(`in-process request answered ${status}`);
  let best = Infinity;
  let sum = 0;
  for (let r = 0; r < 40; r++) { const b = await batch(2000); sum += b; best = Math.min(best, b); }
  if (process.env.BENCH_MEAN) return sum / 40;
  return best;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const load0 = loadavg()[0]!;
if (pin) await promisify(execFile)('taskset', ['-a', '-p', '-c', '0', String(process.pid)]);
const dir = mkdtempSync(join(tmpdir(), 'euca-bench-'));
const logFile = join(dir, 'euca.log');
const log = logMode === 'file' ? createLogger('euca', 'info', logFile) : silentLogger();
const cloud = await startTestCloud({ log });
const bare = createServer((_req, res) => {
  const body = '<DescribeRegionsResponse/>';
  res.writeHead(200, { 'content-type': 'text/xml', 'content-length': body.length });
  res.end(body);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const barePort = (bare.address() as AddressInfo).port;
try {
  const url = `${cloud.endpoints.clc}/services/compute`;
  const u = new URL(url);
  const body = 'Action=DescribeRegions&Version=2016-11-15';

  // An ordinary IAM user (not an admin) in its own account, allowed by an inline identity policy.
  const acct = (await cloud.iam.createAccount(`bench-${process.pid}`)).account;
  await cloud.iam.createUser(acct.accountId, 'reader');
  const userKey = await cloud.iam.createAccessKey(acct.accountId, 'reader');
  await cloud.directory.putInlinePolicy(acct.accountId, 'user', 'reader', 'ec2-read', JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Read', Effect: 'Allow', Action: ['ec2:Describe*', 'ec2:Get*'], Resource: '*' },
      { Sid: 'NoTerminate', Effect: 'Deny', Action: 'ec2:TerminateInstances', Resource: '*' },
      { Sid: 'OnlyFromHere', Effect: 'Deny', Action: 'ec2:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8'] } } },
    ],
  }));

  const signedHeaders = new Map<string, Record<string, string>>();
  async function signedScript(name: string, creds: { accessKeyId: string; secretAccessKey: string }): Promise<string> {
    const signer = new SignatureV4({ service: 'ec2', region: cloud.config.region, credentials: creds, sha256: Sha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
    const headers = { ...signed.headers } as Record<string, string>;
    delete headers.host;
    signedHeaders.set(name, { ...headers, host: u.host, 'content-length': String(Buffer.byteLength(body)) });
    const check = await fetch(url, { method: 'POST', headers, body });
    if (check.status !== 200) throw new Error(`${name}: signed request refused: ${check.status} ${await check.text()}`);
    const script = join(dir, `${name}.lua`);
    writeFileSync(script, luaPost(headers, body));
    return script;
  }

  // the bare server is sent the very request the admin target gets (same bytes: headers, signature, body), so both
  // servers parse the same input and wrk does the same work for both
  const adminScript = await signedScript('admin', cloud.admin);
  // (--bare-plain: the reference of the first version of this benchmark, a POST with only a content-type header)
  const plainScript = join(dir, 'plain.lua');
  writeFileSync(plainScript, luaPost({ 'content-type': 'application/x-www-form-urlencoded' }, body));
  const userScript = await signedScript('user', userKey);
  if (inProcess) {
    const out = [`bench/api --in-process ${new Date().toISOString()}: the gateway's own work per request (gateway.handle with minimal ` +
      `request/response objects: no sockets, no node:http), min over 40 batches of 2000, log ${logMode}, load average ${loadavg()[0]!.toFixed(1)}`];
    for (const name of ['admin', 'user'].filter((n) => !only || only.includes(n))) out.push(`${name.padEnd(6)}: ${(await inProcessCost(cloud.gateway, signedHeaders.get(name)!, u.pathname, body)).toFixed(2)} µs/request`);
    console.log(out.join('\n'));
  } else {
    const targets = [
      { name: 'bare', label: 'bare node:http fixed body', url: `http://127.0.0.1:${barePort}/`, script: barePlain ? plainScript : adminScript },
      { name: 'admin', label: 'DescribeRegions, cloud admin', url, script: adminScript },
      { name: 'user', label: 'DescribeRegions, IAM user + policy', url, script: userScript },
    ].filter((t) => !only || only.includes(t.name));
    for (const t of targets) await wrk(t.url, t.script, 3); // warm-up: JIT, caches, connections
    const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    const profiles = new Map<string, Session>();
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(r + i) % targets.length]!;
        const session = profileDir ? profiles.get(t.name) ?? new Session() : undefined;
        if (session && !profiles.has(t.name)) {
          session.connect();
          await session.post('Profiler.enable');
          profiles.set(t.name, session);
        }
        await session?.post('Profiler.start');
        results.get(t.name)!.push(await wrk(t.url, t.script, duration));
        if (session && profileDir) {
          const { profile } = await session.post('Profiler.stop');
          mkdirSync(profileDir, { recursive: true });
          writeFileSync(join(profileDir, `${t.name}.r${r}.cpuprofile`), JSON.stringify(profile));
        }
      }
    }
    for (const s of profiles.values()) s.disconnect();
    const summary = (name: string) => {
      const rs = results.get(name)!;
      const ratios = rs.map((x, i) => x.rps / (results.get('bare')?.[i]?.rps ?? NaN));
      return {
        rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)),
        cpu: median(rs.map((x) => x.cpuUsPerReq)), non2xx: rs.reduce((a, x) => a + x.non2xx, 0), all: rs.map((x) => x.rps.toFixed(0)).join(' / '),
        ratio: median(ratios), ratios: ratios.map((x) => `${(x * 100).toFixed(0)}%`).join(' / '),
      };
    };
    const lines = [
      `bench/api ${new Date().toISOString()}: wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds (order rotated), loopback, ${process.env.EUCA_TEST_DB === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ` +
        `log ${logMode}${pin ? ', pinned (wrk cpu 1, node cpu 0)' : ''}${barePlain ? ', bare sent a plain request' : ', bare sent the admin request'}, Node ${process.version}, load average ${load0.toFixed(1)} at the start, ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end`,
    ];
    for (const t of targets) {
      const s = summary(t.name);
      lines.push(`${t.label.padEnd(36)}: ${s.rps.toFixed(0).padStart(6)} req/s (rounds ${s.all})  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  ` +
        `server CPU ${s.cpu.toFixed(1)} µs/req${t.name === 'bare' ? '' : `  non-2xx ${s.non2xx}\n${''.padEnd(38)}→ ${(s.ratio * 100).toFixed(1)}% of bare (median of per-round ratios ${s.ratios})`}`);
      if (t.name !== 'bare' && s.non2xx > 0) process.exitCode = 1;
    }
    lines.push('targets: gateway >= 40% of bare req/s, p99 <= 20 ms');
    if (logMode === 'file') {
      await new Promise<void>((r) => log.flush(() => r()));
      lines.push(`access log: ${(statSync(logFile).size / 1024 / 1024).toFixed(1)} MiB written`);
    }
    console.log(lines.join('\n'));
  }
} finally {
  bare.close();
  await cloud.stop();
  rmSync(dir, { recursive: true, force: true });
}
