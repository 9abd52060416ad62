import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, parseCidr, macForIp, usableRange, ipToInt, intToIp } from './network.js';

test('CIDR parsing and the usable range', () => {
  const s = parseCidr('10.20.3.7/24');
  assert.deepEqual(s, { network: '10.20.3.0', prefix: 24 });
  assert.deepEqual(usableRange(s), { first: ipToInt('10.20.3.2'), last: ipToInt('10.20.3.254'), gateway: '10.20.3.1' });
  assert.throws(() => parseCidr('10.0.0.0/31'));
  assert.throws(() => parseCidr('10.0.0/24'));
  assert.equal(intToIp(ipToInt('192.168.200.17')), '192.168.200.17');
});

test('allocates distinct addresses, idempotently per owner, and frees them', () => {
  const s = parseCidr('10.9.0.0/29'); // usable .2 – .6 = 5 addresses
  const pool = new AddressPool();
  assert.deepEqual(['i-1', 'i-2', 'i-3'].map((o) => pool.allocate(s, o)), ['10.9.0.2', '10.9.0.3', '10.9.0.4']);
  assert.equal(pool.allocate(s, 'i-2'), '10.9.0.3');
  assert.equal(pool.allocate(s, 'i-4'), '10.9.0.5');
  assert.equal(pool.allocate(s, 'i-5'), '10.9.0.6');
  assert.equal(pool.allocate(s, 'i-6'), undefined, 'full');
  assert.equal(pool.release('i-2'), true);
  assert.equal(pool.release('i-2'), false);
  assert.deepEqual(Object.keys(pool.toJSON()).sort(), ['10.9.0.2', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
  pool.release('i-5');
  assert.equal(pool.allocate(s, 'i-7', '10.9.0.4'), '10.9.0.6', 'after the hint, not the just-freed 10.9.0.3');
  assert.equal(pool.addressOf('i-7'), '10.9.0.6');
});

test('the pool round-trips through its persisted table and keeps one address per owner', () => {
  const s = parseCidr('10.9.0.0/29');
  const pool = new AddressPool({ '10.9.0.2': 'i-1', '10.9.0.5': 'i-2' });
  assert.equal(pool.ownerOf('10.9.0.5'), 'i-2');
  assert.equal(pool.allocate(s, 'i-3', '10.9.0.2'), '10.9.0.3', 'the lowest free after the hint');
  pool.assign('10.9.0.6', 'i-1'); // the node reports another address for i-1: the old one is free again
  assert.equal(pool.ownerOf('10.9.0.2'), undefined);
  assert.deepEqual(new AddressPool(pool.toJSON()).toJSON(), { '10.9.0.3': 'i-3', '10.9.0.5': 'i-2', '10.9.0.6': 'i-1' });
  assert.equal(pool.size, 3);
});

test('MACs carry the d0:0d prefix and are unique per address', () => {
  assert.equal(macForIp('10.9.0.2'), 'd0:0d:0a:09:00:02');
  assert.notEqual(macForIp('10.9.0.2'), macForIp('10.9.0.3'));
});
