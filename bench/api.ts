/**
 * bench/api: signed EC2 DescribeRegions through the whole gateway (signature, parse, authorize, handler, serialize)
 * with 32 concurrent keep-alive connections on loopback, next to a bare node:http server answering a fixed body,
 * measured in the same run with the same load generator (wrk, a separate process, one thread).
 *
 * Run: node --import tsx bench/api.ts [--duration 10]      (needs wrk: Debian package wrk)
 * The request is signed once (a SigV4 signature stays valid for 15 minutes) and replayed by wrk.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { startTestCloud } from '../src/main/testing.js';
import { Sha256 } from '../test/api/sha256.js';

const durIdx = process.argv.indexOf('--duration');
const duration = durIdx > 0 ? Number(process.argv[durIdx + 1]) : 10;
const connections = 32;

interface WrkResult { rps: number; p50: number; p99: number; non2xx: number }

function parseWrk(out: string): WrkResult {
  const ms = (s: string) => {
    const m = /([\d.]+)(us|ms|s)/.exec(s);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: ms(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** wrk runs as a child process; the servers under test live in this process, so it must not block the event loop. */
async function wrk(url: string, script: string, seconds = duration): Promise<WrkResult> {
  const { stdout } = await promisify(execFile)('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}

function luaPost(headers: Record<string, string>, body: string): string {
  const q = (s: string) => JSON.stringify(s);
  return ['wrk.method = "POST"', `wrk.body = ${q(body)}`, ...Object.entries(headers).map(([k, v]) => `wrk.headers[${q(k)}] = ${q(v)}`)].join('\n') + '\n';
}

const dir = mkdtempSync(join(tmpdir(), 'euca-bench-'));
const cloud = await startTestCloud();
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
  const signer = new SignatureV4({ service: 'ec2', region: 'eucalyptus', credentials: { accessKeyId: cloud.admin.accessKeyId, secretAccessKey: cloud.admin.secretAccessKey }, sha256: Sha256 });
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  const headers = { ...signed.headers } as Record<string, string>;
  delete headers.host;
  const check = await fetch(url, { method: 'POST', headers, body });
  if (check.status !== 200) throw new Error(`signed request refused: ${check.status} ${await check.text()}`);
  const script = join(dir, 'post.lua');
  writeFileSync(script, luaPost(headers, body));
  const bareScript = join(dir, 'bare.lua');
  writeFileSync(bareScript, luaPost({ 'content-type': 'application/x-www-form-urlencoded' }, body));
  await wrk(url, script, 3); // warm-up
  const b = await wrk(`http://127.0.0.1:${barePort}/`, bareScript);
  const g = await wrk(url, script);
  console.log([
    `bench/api ${new Date().toISOString()}: ${connections} keep-alive connections, ${duration}s each, wrk -t1, loopback, SQLite`,
    `bare node:http fixed body : ${b.rps.toFixed(0)} req/s  p50 ${b.p50.toFixed(2)} ms  p99 ${b.p99.toFixed(2)} ms`,
    `signed DescribeRegions    : ${g.rps.toFixed(0)} req/s  p50 ${g.p50.toFixed(2)} ms  p99 ${g.p99.toFixed(2)} ms  non-2xx ${g.non2xx}`,
    `gateway/bare: ${((g.rps / b.rps) * 100).toFixed(1)}% (target >= 40%); p99 target <= 20 ms`,
  ].join('\n'));
  if (g.non2xx > 0) process.exitCode = 1;
} finally {
  bare.close();
  await cloud.stop();
  rmSync(dir, { recursive: true, force: true });
}
