import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError } from './errors.js';
import { parseAuthorizationCached, parseAuthorizationHeader, parseCredential } from './sigv4.js';
import { ALGORITHM } from './canonical.js';

/** The straightforward parser (split, trim, Map) that the in-place scanner must agree with. */
function reference(value: string): unknown {
  const rest = value.slice(ALGORITHM.length).trim();
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw new AuthError('Incomplete', `Authorization header requires a 'key=value' pair, got '${p.slice(0, 40)}'.`, { method: 'sigv4-header' });
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    throw new AuthError('Incomplete', missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') + ` Authorization=${ALGORITHM} ${[...fields.keys()].join(', ')}`, { method: 'sigv4-header' });
  }
  const credential = parseCredential(fields.get('Credential')!, 'sigv4-header');
  const signedHeadersRaw = fields.get('SignedHeaders')!;
  const signedHeaders = signedHeadersRaw.split(';');
  if (signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw new AuthError('Malformed', 'SignedHeaders must be lower-case header names separated by semicolons.', { method: 'sigv4-header' });
  }
  return { credential, signedHeaders, signedHeadersRaw, signature: fields.get('Signature')! };
}

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof AuthError) return { kind: e.kind, message: e.message };
    throw e;
  }
}

const GOOD = `${ALGORITHM} Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7`;

test('parseAuthorizationHeader: a well-formed header', () => {
  const p = parseAuthorizationHeader(GOOD);
  assert.equal(p.credential.accessKeyId, 'AKIDEXAMPLE');
  assert.deepEqual(p.signedHeaders, ['content-type', 'host', 'x-amz-date']);
  assert.equal(p.signature, '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
});

test('parseAuthorizationHeader: agrees with the reference parser on spacing, repeats, omissions and mutations', () => {
  const cases = [
    GOOD,
    `${ALGORITHM}   Credential = AKID/20150830/us-east-1/iam/aws4_request ,SignedHeaders= host ,Signature =ab `,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request,SignedHeaders=host,Signature=1,Signature=2,Credential=B/20150830/r/s/aws4_request`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=Host;x-amz-date, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=host;;x-amz-date, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=hošt, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=host\u00a0, Signature=1`,
    `${ALGORITHM} Credential\u00a0=A/20150830/r/s/aws4_request, SignedHeaders=\u00a0host, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=HOST, Signature=1`,
    `${ALGORITHM} Credential=, SignedHeaders=host, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, Signature=1`,
    `${ALGORITHM} Foo=bar, Credential=A/20150830/r/s/aws4_request`,
    `${ALGORITHM} Credential=A/2015/r/aws4_request, SignedHeaders=host, Signature=1`,
    `${ALGORITHM} Credential A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=1`,
    `${ALGORITHM}`,
    `${ALGORITHM} ,,, ,`,
    `${ALGORITHM} =x, Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=1`,
    `${ALGORITHM} Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=a=b`,
  ];
  // byte-level mutations of the good header: deletions, duplications, swaps to separators and spaces
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const alphabet = [' ', ',', '=', ';', '/', '\t', 'A', 'h', '\u00a0', ''];
  for (let i = 0; i < 2000; i++) {
    const at = ALGORITHM.length + rnd(GOOD.length - ALGORITHM.length);
    const ch = alphabet[rnd(alphabet.length)]!;
    cases.push(GOOD.slice(0, at) + ch + GOOD.slice(at + rnd(3)));
  }
  for (const c of cases) assert.deepEqual(outcome(() => parseAuthorizationHeader(c)), outcome(() => reference(c)), JSON.stringify(c));
});

test('parseAuthorizationCached: the same answer as the full parse, for a new header, a remembered prefix with another signature, and mutations', () => {
  const withScope = (v: string) => {
    const p = parseAuthorizationHeader(v);
    const c = p.credential;
    return { ...p, scope: `${c.date}/${c.region}/${c.service}/${c.terminator}` };
  };
  let seed = 11;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[rnd(16)]).join('');
  const prefix = GOOD.slice(0, GOOD.lastIndexOf(', Signature='));
  const cases = [GOOD, GOOD, `${prefix}, Signature=${hex(64)}`, `${prefix}, Signature=${hex(63)}`, `${prefix}, Signature=${hex(63)}G`,
    `${prefix}, Signature=${hex(32)} ${hex(31)}`, `${prefix}, Signature=${hex(31)},${hex(32)}`, `${prefix}, Signature=${hex(64).toUpperCase()}`,
    `${prefix},Signature=${hex(64)}`, `${prefix}, Signature=${hex(64)}, Signature=${hex(64)}`];
  // mutations of the prefix (each then seen again with a new signature), and of the signature
  const alphabet = [' ', ',', '=', ';', '/', 'A', '\u00a0', ''];
  for (let i = 0; i < 1000; i++) {
    const at = ALGORITHM.length + rnd(GOOD.length - ALGORITHM.length);
    const mutated = GOOD.slice(0, at) + alphabet[rnd(alphabet.length)]! + GOOD.slice(at + rnd(3));
    const cut = mutated.lastIndexOf(', Signature=');
    cases.push(mutated, cut > 0 ? `${mutated.slice(0, cut)}, Signature=${hex(64)}` : mutated);
  }
  for (const c of cases) {
    const first = outcome(() => parseAuthorizationCached(c));
    assert.deepEqual(first, outcome(() => withScope(c)), JSON.stringify(c));
    assert.deepEqual(outcome(() => parseAuthorizationCached(c)), first, `again: ${JSON.stringify(c)}`);
  }
  // a remembered prefix is not parsed again: its parse is shared
  const a = parseAuthorizationCached(`${prefix}, Signature=${hex(64)}`);
  const b = parseAuthorizationCached(`${prefix}, Signature=${hex(64)}`);
  assert.notEqual(a.signature, b.signature);
  assert.equal(a.credential, b.credential, 'the second header was answered from the remembered prefix');
});
