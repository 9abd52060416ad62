/**
 * Robustness: mutated requests for every operation only ever produce a result or an AwsError with a 4xx status
 * (never another exception, never a 5xx); weird handler outputs never crash the serializer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../shared/index.js';
import { loadModel } from './model.js';
import { parseQueryRequest, serializeQueryResponse, type QueryService } from './index.js';

/** Deterministic PRNG (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_VALUES = ['', ' ', 'true', 'TRUE', 'yes', '-1', '1e309', '99999999999999999999999', 'NaN', '0x10', '1.5', '2026-13-45T99:99:99Z', '%', '\uFFFD', '\u0000', '<x>&', 'a'.repeat(70000), '====', '..', '1.2.3'];
const NASTY_SUFFIXES = ['.1', '.99999999', '.0', '.-1', '.member.1', '.entry.1.key', '.1.Name', '.x', '..', '.1.1.1.1.1.1.1.1.1.1.1.1', '.999999999999999999999.Name'];

function wireKeys(service: QueryService, shapeName: string, prefix: string, out: string[], depth: number): void {
  if (depth > 4 || out.length > 400) return;
  const model = loadModel(service);
  const s = model.shape(shapeName);
  if (s.type === 'structure') {
    for (const m of model.members(shapeName)) wireKeys(service, m.shape, prefix ? `${prefix}.${m.queryName}` : m.queryName, out, depth + 1);
  } else if (s.type === 'list') {
    const base = service === 'ec2' ? prefix : `${prefix}.${s.member?.locationName ?? 'member'}`;
    wireKeys(service, s.member!.shape, `${base}.1`, out, depth + 1);
  } else if (s.type === 'map') {
    out.push(`${prefix}.entry.1.key`);
    wireKeys(service, s.value!.shape, `${prefix}.entry.1.value`, out, depth + 1);
  } else out.push(prefix);
}

for (const service of ['ec2', 'iam', 'sts'] as const) {
  test(`${service}: mutated requests for every operation never raise anything but a 4xx AwsError`, () => {
    const model = loadModel(service);
    const rand = rng(service.length * 7919);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let ok = 0;
    let rejected = 0;
    for (const op of model.operationNames()) {
      const def = model.operation(op)!;
      const keys: string[] = [];
      if (def.input) wireKeys(service, def.input.shape, '', keys, 0);
      for (let round = 0; round < 4; round++) {
        const p = new URLSearchParams();
        p.append('Action', op);
        for (const k of keys) {
          const r = rand();
          if (r < 0.15) continue;
          const key = r < 0.3 ? k + pick(NASTY_SUFFIXES) : k;
          p.append(key, r < 0.6 ? pick(NASTY_VALUES) : 'x');
          if (r > 0.95) p.append(key, 'dup');
        }
        try {
          parseQueryRequest(service, p);
          ok++;
        } catch (e) {
          assert.ok(e instanceof AwsError, `${op}: ${String(e)}`);
          assert.ok(e.status >= 400 && e.status < 500, `${op}: ${e.status}`);
          assert.ok(['MissingParameter', 'InvalidParameterValue', 'ValidationError'].includes(e.code), `${op}: ${e.code}`);
          assert.ok(e.message.length < 8000, `${op}: message of ${e.message.length} chars`);
          rejected++;
        }
      }
    }
    assert.ok(ok > 0 && rejected > 0, `ok ${ok}, rejected ${rejected}`);
  });
}

test('serializer: wrong types, cycles, huge and odd values never crash', () => {
  const cyc: Record<string, unknown> = {};
  cyc.Reservations = [cyc];
  const weird: unknown[] = [
    undefined, null, 42, 'str', [], [1, 2], cyc,
    { Reservations: 'not-a-list' },
    { Reservations: [{ Instances: [{ InstanceId: { nested: true }, LaunchTime: 'not a date', Monitoring: 5, CpuOptions: [1], Tags: { Key: 'x' } }] }] },
    { Reservations: [{ Instances: [{ LaunchTime: Number.NaN, AmiLaunchIndex: 10n, EbsOptimized: 'yes', InstanceId: Symbol('s') }] }] },
  ];
  for (const w of weird) {
    const r = serializeQueryResponse('ec2', 'DescribeInstances', w, 'rid');
    assert.equal(r.status, 200);
    assert.match(r.body, /<\/DescribeInstancesResponse>$/);
  }
  const r = serializeQueryResponse('iam', 'GetUser', { User: { UserName: '\uD800bad\u0001', Path: '/', UserId: 'x', Arn: 'a', CreateDate: new Date(0) } }, 'rid');
  assert.match(r.body, /<UserName>bad<\/UserName>/);
});
