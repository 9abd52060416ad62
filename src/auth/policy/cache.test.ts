import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthzCache, PolicyCompileCache } from './cache.js';
import { compilePattern, parseTemplate } from './glob.js';
import { cidrContains, parseCidr, parseIp } from './ip.js';

test('AuthzCache: per credential, invalidated per account, globally, and by TTL', async () => {
  let now = 1000;
  const c = new AuthzCache<string>({ ttlMs: 500, now: () => now });
  c.set('AKIA1', 'acct1', 'v1');
  c.set('AKIA2', 'acct2', 'v2');
  assert.equal(c.get('AKIA1'), 'v1');
  c.invalidateAccount('acct1');
  assert.equal(c.get('AKIA1'), undefined, 'account change makes its entries stale');
  assert.equal(c.get('AKIA2'), 'v2', 'other accounts untouched');
  c.set('AKIA1', 'acct1', 'v1b');
  assert.equal(c.get('AKIA1'), 'v1b');
  c.invalidateAll();
  assert.equal(c.get('AKIA1'), undefined);
  assert.equal(c.get('AKIA2'), undefined);
  c.set('AKIA3', 'acct3', 'v3');
  now += 499;
  assert.equal(c.get('AKIA3'), 'v3');
  now += 1;
  assert.equal(c.get('AKIA3'), undefined, 'expired');
  // a change while loading is not hidden by a stale store
  const v = await c.getOrLoad('AKIA4', 'acct4', async () => {
    c.invalidateAccount('acct4');
    return 'stale';
  });
  assert.equal(v, 'stale');
  assert.equal(c.get('AKIA4'), undefined);
  assert.equal(await c.getOrLoad('AKIA4', 'acct4', async () => 'fresh'), 'fresh');
  assert.equal(c.get('AKIA4'), 'fresh');
});

test('AuthzCache is an LRU bounded in size', () => {
  const c = new AuthzCache<number>({ max: 2 });
  c.set('a', 'x', 1);
  c.set('b', 'x', 2);
  c.get('a');
  c.set('c', 'x', 3);
  assert.equal(c.get('b'), undefined);
  assert.equal(c.get('a'), 1);
  assert.equal(c.size, 2);
});

test('AuthzCache: an entry read between insertions is never evicted; untouched ones are, oldest first', () => {
  const c = new AuthzCache<number>({ max: 8 });
  c.set('hot', 'x', 0);
  for (let i = 1; i <= 100; i++) {
    c.set(`k${i}`, 'x', i);
    assert.equal(c.get('hot'), 0, `after ${i} insertions`);
    assert.ok(c.size <= 8);
  }
  assert.equal(c.get('k92'), undefined, 'older cold entries were evicted');
  assert.equal(c.get('k100'), 100);
});

test('PolicyCompileCache compiles a document once and still rejects bad ones', () => {
  const cc = new PolicyCompileCache();
  const text = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}';
  assert.equal(cc.compile(text), cc.compile(text));
  assert.notEqual(cc.compile(text), cc.compile(text, { kind: 'session' }));
  assert.throws(() => cc.compile('{'), /Syntax errors/);
});

test('templates and patterns', () => {
  const t = parseTemplate("a${aws:username}b${*}c${aws:x, 'dflt'}", true);
  assert.deepEqual(t.parts, [
    { t: 'glob', s: 'a' },
    { t: 'var', key: 'aws:username' },
    { t: 'glob', s: 'b' },
    { t: 'lit', s: '*' },
    { t: 'glob', s: 'c' },
    { t: 'var', key: 'aws:x', dflt: 'dflt' },
  ]);
  const lookup = (k: string): string[] | undefined => (k === 'aws:username' ? ['a*b'] : undefined);
  const p = compilePattern('arn:aws:s3:::home/${aws:username}/*', { variables: true, arn: true });
  assert.equal(p.match('arn:aws:s3:::home/a*b/x', lookup), true);
  assert.equal(p.match('arn:aws:s3:::home/aXXb/x', lookup), false, 'substituted text is literal');
  assert.equal(p.match('arn:aws:s3:::home/a*b/x', () => undefined), null, 'unresolvable');
  assert.equal(compilePattern('${unterminated', { variables: true }).match('${unterminated', lookup), true);
  const arn = compilePattern('arn:aws:ec2:*:*:instance/*', { variables: false, arn: true });
  assert.equal(arn.match('arn:aws:ec2:r1:123:instance/i-1', lookup), true);
  assert.equal(arn.match('arn:aws:ec2:r1:x:y:instance/i-1', lookup), false, '* stays in its ARN segment');
});

test('IP parsing', () => {
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { v: 4, n: 0x0a000001n });
  assert.equal(parseIp('1.2.3'), null);
  assert.equal(parseIp('1::2::3'), null);
  assert.equal(parseIp('fe80::1%eth0')?.v, 6);
  assert.ok(cidrContains(parseCidr('::ffff:10.0.0.0/104')!, parseIp('10.9.9.9')!));
  assert.ok(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('255.255.255.255')!));
  assert.ok(cidrContains(parseCidr('::/0')!, parseIp('2001:db8::1')!));
  assert.ok(!cidrContains(parseCidr('10.0.0.0/8')!, parseIp('11.0.0.0')!));
  assert.equal(parseCidr('10.0.0.0/33'), null);
  assert.equal(parseCidr('2001:db8::/129'), null);
});
