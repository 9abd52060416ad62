/**
 * bench/authz: the cost of policy enforcement. A signed EC2 DescribeRegions through the whole gateway (signature,
 * parse, authorization, handler, serialize), 32 keep-alive connections on loopback, for:
 * - the cloud admin (allowed without looking at any policy),
 * - an account's admin user (allowed in its account without policies),
 * - a user with 10 attached managed policies × 20 statements (conditions, wildcards, Deny statements; the Allow that
 *   matches is the last statement of the last policy),
 * measured alternately in the same run with the same load generator (wrk, one thread, a separate process).
 * Target: the policy user reaches ≥ 80 % of the admin's throughput (compiled policies cached per credential).
 * Also, in-process: the decision alone (cached PolicySet) and a cold load (database + compile) for that user.
 *
 * Runs are short and alternate (the order rotates each round) so that load from other processes hits every variant
 * alike; medians are reported, and the per-round ratio of the policy user to the cloud admin measured next to it.
 *
 * Run: node --import tsx bench/authz.ts [--duration 3] [--rounds 8]     (needs wrk: Debian package wrk)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { IAMClient, CreatePolicyCommand, AttachUserPolicyCommand, CreateUserCommand, CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { startTestCloud } from '../src/main/testing.js';
import { Sha256 } from '../test/api/sha256.js';
import { parseWrk } from './wrk.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const duration = arg('--duration', 3);
const rounds = arg('--rounds', 8);
const connections = 32;

interface WrkResult { rps: number; p50: number; p99: number; non2xx: number }

async function wrk(url: string, script: string, seconds: number): Promise<WrkResult> {
  const { stdout } = await promisify(execFile)('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}

/** Statement i of policy p: mostly things that do not match DescribeRegions, some with conditions; the last allows it. */
function statement(p: number, i: number, acct: string): Record<string, unknown> {
  if (p === 9 && i === 19) return { Sid: 'AllowDescribe', Effect: 'Allow', Action: ['ec2:Describe*'], Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '::1/128'] } } };
  switch (i % 5) {
    case 0:
      return { Effect: 'Allow', Action: [`s3:Get${p}Object${i}`, `s3:List${p}*`], Resource: `arn:aws:s3:::bucket-${p}-${i}/\${aws:username}/*` };
    case 1:
      return { Effect: 'Deny', Action: `iam:Delete*`, Resource: `arn:aws:iam::${acct}:user/protected-${p}-${i}` };
    case 2:
      return { Effect: 'Allow', Action: `ec2:RunInstances`, Resource: `arn:aws:ec2:*:${acct}:instance/*`, Condition: { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 'm1.small'] } } };
    case 3:
      return { Effect: 'Deny', NotAction: ['ec2:*', 'iam:*', 's3:*', 'sts:*'], Resource: '*' };
    default:
      return { Effect: 'Allow', Action: [`iam:Get${p}${i}`, 'iam:List*'], Resource: `arn:aws:iam::${acct}:user/\${aws:username}`, Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' }, Bool: { 'aws:SecureTransport': 'false' } } };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'euca-bench-authz-'));
const cloud = await startTestCloud();
try {
  const url = `${cloud.endpoints.clc}/services/compute`;
  const u = new URL(url);
  const body = 'Action=DescribeRegions&Version=2016-11-15';
  const admin = new IAMClient(cloud.clientConfig('iam'));
  // the policy user, in the cloud admin's account
  await admin.send(new CreateUserCommand({ UserName: 'bench' }));
  for (let p = 0; p < 10; p++) {
    const doc = JSON.stringify({ Version: '2012-10-17', Statement: Array.from({ length: 20 }, (_, i) => statement(p, i, cloud.admin.accountId)) });
    const pol = await admin.send(new CreatePolicyCommand({ PolicyName: `bench-${p}`, PolicyDocument: doc }));
    await admin.send(new AttachUserPolicyCommand({ UserName: 'bench', PolicyArn: pol.Policy!.Arn }));
  }
  const k = await admin.send(new CreateAccessKeyCommand({ UserName: 'bench' }));
  const userCreds = { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! };
  // an account admin
  const { account } = await cloud.iam.createAccount('bench-acct');
  const ak = await cloud.iam.createAccessKey(account.accountId, 'admin');
  const acctAdmin = { accessKeyId: ak.accessKeyId, secretAccessKey: ak.secretAccessKey };

  async function scriptFor(name: string, creds: { accessKeyId: string; secretAccessKey: string }): Promise<string> {
    const signer = new SignatureV4({ service: 'ec2', region: 'eucalyptus', credentials: creds, sha256: Sha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
    const headers = { ...signed.headers } as Record<string, string>;
    delete headers.host;
    const check = await fetch(url, { method: 'POST', headers, body });
    if (check.status !== 200) throw new Error(`${name}: signed request refused: ${check.status} ${await check.text()}`);
    const q = (s: string): string => JSON.stringify(s);
    const file = join(dir, `${name}.lua`);
    writeFileSync(file, ['wrk.method = "POST"', `wrk.body = ${q(body)}`, ...Object.entries(headers).map(([h, v]) => `wrk.headers[${q(h)}] = ${q(v)}`)].join('\n') + '\n');
    return file;
  }
  const scripts = {
    'cloud admin': await scriptFor('cloudadmin', cloud.admin),
    'account admin': await scriptFor('acctadmin', acctAdmin),
    'user, 10 policies x 20 statements': await scriptFor('policyuser', userCreds),
  };
  await wrk(url, scripts['cloud admin'], 2); // warm-up
  await wrk(url, scripts['user, 10 policies x 20 statements'], 2);
  const results: Record<string, WrkResult[]> = {};
  const entries = Object.entries(scripts);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < entries.length; j++) {
      const [name, script] = entries[(j + r) % entries.length]!;
      (results[name] ??= []).push(await wrk(url, script, duration));
    }
  }

  // in-process: the decision alone, and a cold load + compile
  const userPrincipal = (await cloud.iam.lookup(userCreds.accessKeyId))!.principal;
  const ctx = { principal: userPrincipal, service: 'ec2', sourceIp: '127.0.0.1', secure: false, now: new Date(), region: 'eucalyptus' };
  const req = [{ action: 'ec2:DescribeRegions', resources: ['*'] }];
  const first = await cloud.authz.decide(ctx, req);
  if (first.decision !== 'Allow') throw new Error(`policy user not allowed: ${first.reason}`);
  const N = 20000;
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await cloud.authz.decide(ctx, req);
  const warmUs = Number(process.hrtime.bigint() - t) / 1000 / N;
  const M = 50;
  t = process.hrtime.bigint();
  for (let i = 0; i < M; i++) {
    cloud.authz.identityCache.invalidateAll();
    await cloud.authz.decide(ctx, req);
  }
  const coldMs = Number(process.hrtime.bigint() - t) / 1e6 / M;

  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  const rps = (name: string): number[] => results[name]!.map((x) => x.rps);
  const base = median(rps('cloud admin'));
  const lines = [`bench/authz ${new Date().toISOString()}: ${connections} keep-alive connections, ${duration}s × ${rounds} rotating rounds, wrk -t1, loopback, ${cloud.database.kind}`];
  for (const [name, rs] of Object.entries(results)) {
    lines.push(`${name.padEnd(36)}: median ${median(rs.map((x) => x.rps)).toFixed(0)} req/s (${((median(rs.map((x) => x.rps)) / base) * 100).toFixed(1)}% of cloud admin; runs ${rs.map((x) => x.rps.toFixed(0)).join(' ')})  p99 median ${median(rs.map((x) => x.p99)).toFixed(2)} ms  non-2xx ${rs.reduce((s, x) => s + x.non2xx, 0)}`);
  }
  const user = rps('user, 10 policies x 20 statements');
  const pairRatio = median(user.map((x, i) => x / rps('cloud admin')[i]!));
  const vsAcct = median(user.map((x, i) => x / rps('account admin')[i]!));
  lines.push(`decision alone (cached compiled policies): ${warmUs.toFixed(2)} µs/request; cold (load 10 policies from the database + compile 200 statements): ${coldMs.toFixed(2)} ms`);
  lines.push(`policy user / cloud admin, median of per-round ratios: ${(pairRatio * 100).toFixed(1)}%; / account admin: ${(vsAcct * 100).toFixed(1)}% (target >= 80%)`);
  console.log(lines.join('\n'));
  if (Object.values(results).some((rs) => rs.some((x) => x.non2xx > 0))) process.exitCode = 1;
} finally {
  await cloud.stop();
  rmSync(dir, { recursive: true, force: true });
}
