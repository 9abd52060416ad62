import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeMany, freeSlots, maxSlots, candidates, type NodeView, type Resources } from './scheduler.js';

const small: Resources = { cores: 1, memoryMiB: 256, diskGiB: 5 };
function node(nodeId: string, order: number, cores: number, usedCores = 0, extra: Partial<NodeView> = {}): NodeView {
  return {
    nodeId, order, enabled: true, healthy: true,
    total: { cores, memoryMiB: cores * 1024, diskGiB: 100 },
    used: { cores: usedCores, memoryMiB: usedCores * 256, diskGiB: usedCores * 5 },
    instances: usedCores, ...extra,
  };
}

test('filters drop disabled, unhealthy and full nodes', () => {
  const nodes = [node('a', 0, 2, 2), node('b', 1, 2, 0, { enabled: false }), node('c', 2, 2, 0, { healthy: false }), node('d', 3, 2)];
  assert.deepEqual(candidates(nodes, small).map((n) => n.nodeId), ['d']);
  const lowMem = node('e', 4, 8, 0, { total: { cores: 8, memoryMiB: 200, diskGiB: 100 } });
  assert.deepEqual(candidates([lowMem], small), []);
  const lowDisk = node('f', 5, 8, 0, { total: { cores: 8, memoryMiB: 8192, diskGiB: 4 } });
  assert.deepEqual(candidates([lowDisk], small), []);
});

const table: Array<{ policy: 'GREEDY' | 'ROUNDROBIN' | 'POWERSAVE'; nodes: NodeView[]; count: number; want: string[] }> = [
  // GREEDY fills the first node before the next
  { policy: 'GREEDY', nodes: [node('a', 0, 2), node('b', 1, 2)], count: 3, want: ['a', 'a', 'b'] },
  // ROUNDROBIN alternates
  { policy: 'ROUNDROBIN', nodes: [node('a', 0, 2), node('b', 1, 2), node('c', 2, 2)], count: 4, want: ['a', 'b', 'c', 'a'] },
  // ROUNDROBIN skips a full node
  { policy: 'ROUNDROBIN', nodes: [node('a', 0, 2), node('b', 1, 1, 1), node('c', 2, 2)], count: 3, want: ['a', 'c', 'a'] },
  // POWERSAVE packs onto the busy node and leaves the idle one asleep
  { policy: 'POWERSAVE', nodes: [node('a', 0, 4), node('b', 1, 4, 1)], count: 3, want: ['b', 'b', 'b'] },
  // POWERSAVE wakes an idle node only when the awake ones are full
  { policy: 'POWERSAVE', nodes: [node('a', 0, 4), node('b', 1, 2, 1)], count: 3, want: ['b', 'a', 'a'] },
  // out of capacity: fewer placements than asked
  { policy: 'GREEDY', nodes: [node('a', 0, 1), node('b', 1, 1)], count: 5, want: ['a', 'b'] },
];

for (const [i, c] of table.entries()) {
  test(`placement table #${i}: ${c.policy} → ${c.want.join(',')}`, () => {
    const before = JSON.stringify(c.nodes);
    assert.deepEqual(placeMany(c.policy, c.nodes, small, c.count).map((p) => p.nodeId), c.want);
    assert.equal(JSON.stringify(c.nodes), before, 'the input view is not mutated');
  });
}

test('ROUNDROBIN continues from the last node across calls', () => {
  const state = {};
  const nodes = [node('a', 0, 4), node('b', 1, 4)];
  assert.deepEqual(placeMany('ROUNDROBIN', nodes, small, 1, state).map((p) => p.nodeId), ['a']);
  assert.deepEqual(placeMany('ROUNDROBIN', nodes, small, 1, state).map((p) => p.nodeId), ['b']);
  assert.deepEqual(placeMany('ROUNDROBIN', nodes, small, 1, state).map((p) => p.nodeId), ['a']);
});

test('free and max slots per instance type', () => {
  const nodes = [node('a', 0, 4, 1), node('b', 1, 2, 0, { healthy: false })];
  assert.equal(freeSlots(nodes, small), 3);
  assert.equal(maxSlots(nodes, small), 6);
  const big: Resources = { cores: 2, memoryMiB: 2048, diskGiB: 10 };
  assert.equal(freeSlots(nodes, big), 1); // memory 4096-256=3840 → 1
  assert.equal(maxSlots(nodes, big), 3);
});
