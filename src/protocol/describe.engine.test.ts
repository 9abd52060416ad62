import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../shared/index.js';
import { applyFilters, paginate, wildcardMatch, type FilterTable } from './index.js';

interface Inst {
  id: string;
  state: string;
  type: string;
  groups: string[];
  ebs: boolean;
  tags: { Key: string; Value: string }[];
}
const items: Inst[] = [
  { id: 'i-1', state: 'running', type: 'm1.small', groups: ['sg-a', 'sg-b'], ebs: true, tags: [{ Key: 'Name', Value: 'web-1' }, { Key: 'env', Value: 'prod' }] },
  { id: 'i-2', state: 'stopped', type: 'm1.large', groups: ['sg-b'], ebs: false, tags: [{ Key: 'Name', Value: 'db?1' }] },
  { id: 'i-3', state: 'running', type: 't2.micro', groups: [], ebs: true, tags: [] },
];
const table: FilterTable<Inst> = { 'instance-id': (i) => i.id, 'instance-state-name': (i) => i.state, 'instance-type': (i) => i.type, 'instance.group-id': (i) => i.groups, 'ebs-optimized': (i) => i.ebs };
const tags = (i: Inst) => i.tags;
const ids = (xs: Inst[]) => xs.map((x) => x.id);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AwsError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

test('filters: AND across filters, OR across values, lists, booleans', () => {
  assert.deepEqual(ids(applyFilters(items, undefined, table, tags)), ['i-1', 'i-2', 'i-3']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance-state-name', Values: ['running'] }], table, tags)), ['i-1', 'i-3']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance-state-name', Values: ['running', 'stopped'] }, { Name: 'instance-type', Values: ['m1.*'] }], table, tags)), ['i-1', 'i-2']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance.group-id', Values: ['sg-b'] }], table, tags)), ['i-1', 'i-2']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'ebs-optimized', Values: ['false'] }], table, tags)), ['i-2']);
});

test('filters: wildcards * and ?, escapes, tags', () => {
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance-type', Values: ['m1.sm???'] }], table, tags)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag:Name', Values: ['web-*'] }], table, tags)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag:Name', Values: ['db\\?1'] }], table, tags)), ['i-2']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag-key', Values: ['env'] }], table, tags)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag-value', Values: ['*'] }], table, tags)), ['i-1', 'i-2']);
  assert.ok(wildcardMatch('a*b*c', 'axxbyyc'));
  assert.ok(!wildcardMatch('a*b*c', 'axxbyy'));
  assert.ok(wildcardMatch('*', ''));
  assert.ok(!wildcardMatch('?', ''));
  assert.ok(wildcardMatch('\\*', '*'));
  assert.ok(!wildcardMatch('\\*', 'x'));
  // no catastrophic backtracking
  assert.ok(!wildcardMatch('*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(1000)));
});

test('filters: unknown name, missing values, limits', () => {
  assert.equal(code(() => applyFilters(items, [{ Name: 'nope', Values: ['x'] }], table, tags)), "InvalidParameterValue: The filter 'nope' is invalid");
  assert.equal(code(() => applyFilters(items, [{ Name: 'tag:x', Values: ['x'] }], {})), "InvalidParameterValue: The filter 'tag:x' is invalid");
  assert.equal(code(() => applyFilters(items, [{ Name: '__proto__', Values: ['x'] }], table, tags)), "InvalidParameterValue: The filter '__proto__' is invalid");
  assert.match(code(() => applyFilters(items, [{ Values: ['x'] }], table, tags)), /^InvalidParameterValue/);
  assert.match(code(() => applyFilters(items, [{ Name: 'instance-id' }], table, tags)), /^InvalidParameterValue/);
  assert.match(code(() => applyFilters(items, Array.from({ length: 51 }, () => ({ Name: 'instance-id', Values: ['x'] })), table, tags)), /^FilterLimitExceeded/);
});

test('paginate: pages, tokens, tamper checks, scope, MaxResults bounds', () => {
  const xs = Array.from({ length: 12 }, (_, i) => `r-${i}`);
  const p1 = paginate(xs, { MaxResults: 5 }, { min: 5, max: 1000, scope: 'DescribeX' });
  assert.deepEqual(p1.page, xs.slice(0, 5));
  assert.ok(p1.nextToken);
  const p2 = paginate(xs, { MaxResults: 5, NextToken: p1.nextToken }, { min: 5, max: 1000, scope: 'DescribeX' });
  assert.deepEqual(p2.page, xs.slice(5, 10));
  const p3 = paginate(xs, { MaxResults: 5, NextToken: p2.nextToken }, { min: 5, max: 1000, scope: 'DescribeX' });
  assert.deepEqual(p3.page, xs.slice(10));
  assert.equal(p3.nextToken, undefined);
  assert.deepEqual(paginate(xs, {}).page, xs);
  // tampered: flip a character of the payload
  const t = p1.nextToken!;
  const forged = (t[0] === 'A' ? 'B' : 'A') + t.slice(1);
  assert.match(code(() => paginate(xs, { MaxResults: 5, NextToken: forged }, { scope: 'DescribeX' })), /^InvalidPaginationToken: The specified pagination token is not valid or is expired.$/);
  const hand = `${Buffer.from(JSON.stringify({ o: 0, s: 'DescribeX' })).toString('base64url')}.AAAA`;
  assert.match(code(() => paginate(xs, { NextToken: hand }, { scope: 'DescribeX' })), /^InvalidPaginationToken/);
  assert.match(code(() => paginate(xs, { NextToken: 'garbage' }, { scope: 'DescribeX' })), /^InvalidPaginationToken/);
  // a token of another query
  assert.match(code(() => paginate(xs, { MaxResults: 5, NextToken: t }, { scope: 'DescribeY' })), /^InvalidPaginationToken/);
  assert.match(code(() => paginate(xs, { MaxResults: 5, NextToken: t }, { scope: 'DescribeY', tokenErrorCode: 'ValidationError' })), /^ValidationError/);
  assert.match(code(() => paginate(xs, { MaxResults: 4 }, { min: 5, max: 1000 })), /^InvalidParameterValue: Value \( 4 \) for parameter MaxResults is invalid. Expecting a value between 5 and 1000.$/);
  assert.match(code(() => paginate(xs, { MaxResults: 1001 }, { min: 5, max: 1000 })), /^InvalidParameterValue/);
});

test('paginate: keyOf resumes after the last item even when earlier items vanished', () => {
  const xs = ['a', 'b', 'c', 'd', 'e'];
  const p1 = paginate(xs, { MaxResults: 2 }, { keyOf: (x) => x, min: 1 });
  assert.deepEqual(p1.page, ['a', 'b']);
  const p2 = paginate(['b', 'c', 'd', 'e'], { MaxResults: 2, NextToken: p1.nextToken }, { keyOf: (x) => x, min: 1 });
  assert.deepEqual(p2.page, ['c', 'd']);
});
