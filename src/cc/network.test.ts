import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocate, release, parseCidr, macForIp, usableRange, ipToInt, intToIp } from './network.js';

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
  const a = allocate({}, s, ['i-1', 'i-2', 'i-3'])!;
  assert.deepEqual(a.addresses, ['10.9.0.2', '10.9.0.3', '10.9.0.4']);
  const again = allocate(a.table, s, ['i-2'])!;
  assert.deepEqual(again.addresses, ['10.9.0.3']);
  assert.equal(allocate(a.table, s, ['i-4', 'i-5', 'i-6']), undefined, 'only 2 left');
  const freed = release(a.table, ['i-2']);
  assert.deepEqual(Object.keys(freed).sort(), ['10.9.0.2', '10.9.0.4']);
  const b = allocate(freed, s, ['i-7'], '10.9.0.4')!;
  assert.deepEqual(b.addresses, ['10.9.0.5'], 'after the hint, not the just-freed address');
});

test('MACs carry the d0:0d prefix and are unique per address', () => {
  assert.equal(macForIp('10.9.0.2'), 'd0:0d:0a:09:00:02');
  assert.notEqual(macForIp('10.9.0.2'), macForIp('10.9.0.3'));
});
