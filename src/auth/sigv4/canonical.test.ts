import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHmac, randomBytes } from 'node:crypto';
import { canonicalComponent, decodeComponent, encodeBytes, canonicalHeaders, canonicalQuery, canonicalQueryCandidates, canonicalUriCandidates, firstCanonicalUri, normalizePath, parseAmzDate, parseQuery, percentDecode, reencodePath, signHex, signingKey, uriEncode } from './canonical.js';

test('uriEncode: RFC 3986 unreserved kept, everything else %XX uppercase, UTF-8', () => {
  assert.equal(uriEncode("-._~AZaz09 !*'()/+=&ሴ"), '-._~AZaz09%20%21%2A%27%28%29%2F%2B%3D%26%E1%88%B4');
  assert.equal(uriEncode('a/b c', true), 'a/b%20c');
});

test('reencodePath: decodes escapes and raw characters, re-encodes; %2F and malformed escapes survive', () => {
  assert.equal(reencodePath('/a%20b/c+d/%7e~/%e1%88%b4ሴ'), '/a%20b/c%2Bd/~~/%E1%88%B4%E1%88%B4');
  assert.equal(reencodePath('/a%2Fb/c%2fd'), '/a%2Fb/c%2Fd');
  assert.equal(reencodePath('/100%/x%zz%4'), '/100%25/x%25zz%254');
  assert.equal(reencodePath('/a//b/./c/../'), '/a//b/./c/../');
});

test('normalizePath: dot segments and empty segments removed, trailing slash kept', () => {
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath(''), '/');
  assert.equal(normalizePath('//example//'), '/example/');
  assert.equal(normalizePath('/example/..'), '/');
  assert.equal(normalizePath('/a/./b/../c'), '/a/c');
  assert.equal(normalizePath('/../..'), '/');
});

test('canonicalUriCandidates: S3 is never normalised; other services double-encode', () => {
  assert.deepEqual(canonicalUriCandidates('/b/a%20b+c', true), ['/b/a%20b%2Bc', '/b/a%20b+c']);
  assert.deepEqual(canonicalUriCandidates('/b/./k', true), ['/b/./k']);
  assert.equal(canonicalUriCandidates('/%20/foo', false)[0], '/%2520/foo');
  assert.equal(canonicalUriCandidates('/a/../b/', false)[0], '/b/');
});

test('canonicalQuery: sorted by key then value, value-less keys get "=", re-encoded, exclusions', () => {
  const p = parseQuery('b=2&a=2&a=1&acl&x=%7e&sp=a+b&u=%e1%88%b4&&X-Amz-Signature=ff');
  assert.equal(canonicalQuery(p, 'X-Amz-Signature'), 'a=1&a=2&acl=&b=2&sp=a%20b&u=%E1%88%B4&x=~');
  assert.deepEqual(canonicalQueryCandidates(parseQuery('k=a+b')), ['k=a%20b', 'k=a%2Bb']);
  assert.deepEqual(canonicalQueryCandidates(parseQuery('k=a%2Bb')), ['k=a%2Bb']);
  // upper-case keys sort before lower-case (byte order)
  assert.equal(canonicalQuery(parseQuery('a=1&B=2')), 'B=2&a=1');
});

test('canonicalHeaders: trims, collapses spaces, joins repeats with ",", restores a stripped Expect', () => {
  const h = { host: ['h'], 'my-h': ['  a   b ', 'c'], 'x-e': ['']};
  assert.equal(canonicalHeaders(h, ['expect', 'host', 'my-h', 'x-e']), 'expect:100-continue\nhost:h\nmy-h:a b,c\nx-e:\n');
});

test('percentDecode: bytes, optional + as space', () => {
  assert.deepEqual([...percentDecode('%41+%zz%')], [0x41, 0x2b, 0x25, 0x7a, 0x7a, 0x25]);
  assert.equal(percentDecode('a+b', true).toString(), 'a b');
});

test('signingKey: the AWS documented derivation example', () => {
  // docs.aws.amazon.com/general/latest/gr/sigv4-calculate-signature.html (IAM, 20150830, us-east-1)
  assert.equal(
    signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830', 'us-east-1', 'iam').toString('hex'),
    'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
  );
});

test('signHex: equals createHmac for any key and message (pads reused per key, mutated keys noticed)', () => {
  const msgs = ['', 'a', 'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59', 'ሴ\u0000x'.repeat(700)];
  for (const len of [0, 1, 32, 63, 64, 65, 100]) {
    const key = randomBytes(len);
    for (const m of msgs) {
      for (let i = 0; i < 2; i++) assert.equal(signHex(key, m), createHmac('sha256', key).update(m).digest('hex'), `key ${len} bytes, message ${m.length} chars`);
    }
    if (len > 0) {
      key[0] = key[0]! ^ 0xff;
      assert.equal(signHex(key, 'x'), createHmac('sha256', key).update('x').digest('hex'));
    }
  }
});

test('firstCanonicalUri: always the first of canonicalUriCandidates (memoised or not)', () => {
  const paths = ['', '/', '/services/compute', '/services/compute/', '//a//b/', '/a/./b/../c', '/%20/foo', '/a b/ሴ', '/b/a%20b+c', '/x%2Fy', '/~user/-._', '/100%/x%zz', `/${'a'.repeat(300)}`];
  for (let round = 0; round < 2; round++) {
    for (const p of paths) {
      for (const s3 of [false, true]) assert.equal(firstCanonicalUri(p, s3), canonicalUriCandidates(p, s3)[0], `${p} s3=${s3}`);
    }
  }
});

test('parseAmzDate: repeated and alternating values, fresh Date objects, invalid stays invalid', () => {
  const a = parseAmzDate('20150830T123600Z');
  const b = parseAmzDate('20150830T123600Z');
  assert.equal(a?.toISOString(), '2015-08-30T12:36:00.000Z');
  assert.notEqual(a, b);
  assert.equal(b?.getTime(), a?.getTime());
  assert.equal(parseAmzDate('20150830T123600'), undefined);
  assert.equal(parseAmzDate('20150830T123600'), undefined);
  assert.equal(parseAmzDate(''), undefined);
  assert.equal(parseAmzDate('20150830T123601Z')?.toISOString(), '2015-08-30T12:36:01.000Z');
  assert.equal(parseAmzDate('20150830T123600Z')?.toISOString(), '2015-08-30T12:36:00.000Z');
});

test('canonicalComponent and decodeComponent: their shortcuts agree with decoding and re-encoding, on 20,000 random components', () => {
  // a seeded generator over the characters that matter: unreserved, reserved, `%` with upper/lower/invalid hex, `+`, non-ASCII
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const alphabet = ['a', 'Z', '0', '-', '.', '_', '~', '/', ' ', '+', '=', '&', '*', 'é', 'ሴ', '%', '%2F', '%2f', '%41', '%7E', '%7e', '%20', '%E1%88%B4', '%zz', '%4', '%25', '%2B'];
  for (let i = 0; i < 20000; i++) {
    let raw = '';
    for (let j = rnd(8); j >= 0; j--) raw += alphabet[rnd(alphabet.length)]!;
    for (const plus of [true, false]) {
      assert.equal(canonicalComponent(raw, plus), encodeBytes(percentDecode(raw, plus), false), `${JSON.stringify(raw)} plusAsSpace=${plus}`);
    }
    assert.equal(decodeComponent(raw), percentDecode(raw, true).toString('utf8'), JSON.stringify(raw));
  }
  // the shortcut itself: already-canonical components come back as they are, others are rewritten
  assert.equal(canonicalComponent('AKID%2F20261127%2Fus-east-1%2Fs3%2Faws4_request', true), 'AKID%2F20261127%2Fus-east-1%2Fs3%2Faws4_request');
  assert.equal(canonicalComponent('a%2fb', true), 'a%2Fb');
  assert.equal(canonicalComponent('%7E', true), '~');
  assert.equal(canonicalComponent('a+b', true), 'a%20b');
  assert.equal(canonicalComponent('a+b', false), 'a%2Bb');
});
