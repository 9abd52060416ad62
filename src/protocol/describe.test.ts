import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFilters, paginate, filterPattern } from './describe.js';

type I = { id: string; state: string; n: number; groups: string[]; tags: { Key: string; Value: string }[] };
const items: I[] = [
  { id: 'i-1', state: 'running', n: 1, groups: ['web', 'db'], tags: [{ Key: 'Name', Value: 'alpha' }, { Key: 'env', Value: 'prod' }] },
  { id: 'i-2', state: 'stopped', n: 2, groups: ['web'], tags: [{ Key: 'Name', Value: 'beta*' }] },
  { id: 'i-3', state: 'running', n: 3, groups: [], tags: [] },
];
const table = { 'instance-id': (i: I) => i.id, 'instance-state-name': (i: I) => i.state, n: (i: I) => i.n, group: (i: I) => i.groups };
const ids = (xs: I[]) => xs.map((x) => x.id);

test('filters: AND across filters, OR across values, wildcards, lists, numbers, tags', () => {
  assert.deepEqual(ids(applyFilters(items, undefined, table)), ['i-1', 'i-2', 'i-3']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance-state-name', Values: ['running'] }], table)), ['i-1', 'i-3']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'instance-id', Values: ['i-?'] }, { Name: 'instance-state-name', Values: ['stop*', 'x'] }], table)), ['i-2']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'group', Values: ['db'] }], table)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'n', Values: ['3'] }], table)), ['i-3']);
  const tags = (i: I) => i.tags;
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag:Name', Values: ['a*'] }], table, tags)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag:Name', Values: ['beta\\*'] }], table, tags)), ['i-2']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag-key', Values: ['env'] }], table, tags)), ['i-1']);
  assert.deepEqual(ids(applyFilters(items, [{ Name: 'tag-value', Values: ['*'] }], table, tags)), ['i-1', 'i-2']);
  assert.throws(() => applyFilters(items, [{ Name: 'bogus', Values: ['x'] }], table), (e: Error & { code?: string }) => e.code === 'InvalidParameterValue' && /'bogus' is invalid/.test(e.message));
  assert.throws(() => applyFilters(items, [{ Name: 'constructor', Values: ['x'] }], table), (e: Error & { code?: string }) => e.code === 'InvalidParameterValue');
  assert.ok(filterPattern('a.b').test('a.b') && !filterPattern('a.b').test('axb'), 'regex characters are literal');
});

test('pagination: pages, opaque tokens, scope and tamper checks, bounds', () => {
  const xs = Array.from({ length: 12 }, (_, i) => i);
  const p1 = paginate(xs, { MaxResults: 5 }, { scope: 'A' });
  assert.deepEqual(p1.page, [0, 1, 2, 3, 4]);
  const p2 = paginate(xs, { MaxResults: 5, NextToken: p1.nextToken! }, { scope: 'A' });
  assert.deepEqual(p2.page, [5, 6, 7, 8, 9]);
  const p3 = paginate(xs, { MaxResults: 5, NextToken: p2.nextToken! }, { scope: 'A' });
  assert.deepEqual(p3.page, [10, 11]);
  assert.equal(p3.nextToken, undefined);
  assert.deepEqual(paginate(xs, {}).page.length, 12);
  const bad = (e: Error & { code?: string }) => e.code === 'InvalidPaginationToken';
  assert.throws(() => paginate(xs, { MaxResults: 5, NextToken: p1.nextToken! }, { scope: 'B' }), bad);
  assert.throws(() => paginate(xs, { MaxResults: 5, NextToken: '5.AAAA' }, { scope: 'A' }), bad);
  assert.throws(() => paginate(xs, { MaxResults: 5, NextToken: 'garbage' }), bad);
  assert.throws(() => paginate(xs, { MaxResults: 2 }), (e: Error & { code?: string }) => e.code === 'InvalidParameterValue');
  assert.throws(() => paginate(xs, { MaxResults: 5000 }), (e: Error & { code?: string }) => e.code === 'InvalidParameterValue');
});
