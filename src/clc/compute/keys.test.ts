import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { createKeyPair, importPublicKey, KeyFormatError } from './keys.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'euca-keys-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const sh = (cmd: string): string => execFileSync('bash', ['-c', cmd], { encoding: 'utf8' }).trim();
const keyOnly = (line: string) => line.split(/\s+/).slice(0, 2).join(' ');

test('created RSA PEM: ssh-keygen reads it, fingerprint is SHA-1 of the PKCS#8 DER private key', () => {
  withDir((dir) => {
    const k = createKeyPair('rsa', 'pem', 'mykey');
    assert.match(k.keyMaterial, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const f = join(dir, 'k.pem');
    writeFileSync(f, k.keyMaterial + '\n', { mode: 0o600 });
    assert.equal(keyOnly(sh(`ssh-keygen -y -f ${f}`)), keyOnly(k.publicKey));
    const expected = sh(`openssl pkcs8 -topk8 -nocrypt -in ${f} -outform DER | openssl sha1 -c`).split('= ')[1];
    assert.equal(k.fingerprint, expected);
    assert.match(k.fingerprint, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    assert.match(k.publicKey, / mykey$/);
  });
});

test('created ED25519 PEM is an OpenSSH private key; fingerprint matches ssh-keygen -E sha256', () => {
  withDir((dir) => {
    const k = createKeyPair('ed25519', 'pem', 'edkey');
    assert.match(k.keyMaterial, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const f = join(dir, 'k');
    writeFileSync(f, k.keyMaterial + '\n', { mode: 0o600 });
    assert.equal(keyOnly(sh(`ssh-keygen -y -f ${f}`)), keyOnly(k.publicKey));
    const out = sh(`ssh-keygen -l -E sha256 -f ${f}`); // "256 SHA256:xxxx edkey (ED25519)"
    const sshFp = /SHA256:(\S+)/.exec(out)![1]!;
    assert.equal(k.fingerprint, sshFp + '=');
    assert.match(out, /edkey/);
  });
});

test('PPK key pairs (RSA and ED25519) load in puttygen and give the same public key', () => {
  withDir((dir) => {
    for (const type of ['rsa', 'ed25519'] as const) {
      const k = createKeyPair(type, 'ppk', `ppk-${type}`);
      assert.match(k.keyMaterial, /^PuTTY-User-Key-File-2: ssh-(rsa|ed25519)\n/);
      const f = join(dir, `${type}.ppk`);
      writeFileSync(f, k.keyMaterial + '\n', { mode: 0o600 });
      // puttygen verifies the MAC and the key's consistency before exporting.
      const pub = sh(`puttygen ${f} -O public-openssh`);
      assert.equal(keyOnly(pub), keyOnly(k.publicKey));
      const priv = join(dir, `${type}.openssh`);
      sh(`puttygen ${f} -O private-openssh -o ${priv}`);
      assert.equal(keyOnly(sh(`ssh-keygen -y -f ${priv}`)), keyOnly(k.publicKey));
    }
  });
});

test('imported RSA: fingerprint is MD5 of the DER public key, in every accepted format', () => {
  withDir((dir) => {
    const f = join(dir, 'id_rsa');
    sh(`ssh-keygen -q -t rsa -b 2048 -N '' -C me@host -f ${f}`);
    const pubLine = readFileSync(`${f}.pub`, 'utf8');
    const expected = sh(`ssh-keygen -e -m PKCS8 -f ${f}.pub | openssl pkey -pubin -outform DER | openssl md5 -c`).split('= ')[1];
    const a = importPublicKey(Buffer.from(pubLine), 'imported');
    assert.equal(a.keyType, 'rsa');
    assert.equal(a.bits, 2048);
    assert.equal(a.fingerprint, expected);
    assert.equal(keyOnly(a.publicKey), keyOnly(pubLine));
    // It is not the SSH-blob MD5 that ssh-keygen -E md5 prints (AWS hashes the DER key).
    const sshMd5 = /MD5:(\S+)/.exec(sh(`ssh-keygen -l -E md5 -f ${f}.pub`))![1];
    assert.notEqual(a.fingerprint, sshMd5);
    const rfc4716 = sh(`ssh-keygen -e -f ${f}.pub`);
    assert.equal(importPublicKey(rfc4716).fingerprint, expected);
    const pem = sh(`ssh-keygen -e -m PKCS8 -f ${f}.pub`);
    assert.equal(importPublicKey(pem).fingerprint, expected);
    const der64 = sh(`ssh-keygen -e -m PKCS8 -f ${f}.pub | openssl pkey -pubin -outform DER | base64 -w0`);
    assert.equal(importPublicKey(der64).fingerprint, expected);
    const rsaPem = sh(`ssh-keygen -e -m PEM -f ${f}.pub`);
    assert.equal(importPublicKey(rsaPem).fingerprint, expected);
  });
});

test('imported ED25519: base64 SHA-256, as ssh-keygen -l -E sha256', () => {
  withDir((dir) => {
    const f = join(dir, 'id_ed');
    sh(`ssh-keygen -q -t ed25519 -N '' -f ${f}`);
    const pubLine = readFileSync(`${f}.pub`, 'utf8');
    const k = importPublicKey(pubLine);
    assert.equal(k.keyType, 'ed25519');
    assert.equal(k.fingerprint, /SHA256:(\S+)/.exec(sh(`ssh-keygen -l -E sha256 -f ${f}.pub`))![1] + '=');
    assert.equal(importPublicKey(sh(`ssh-keygen -e -f ${f}.pub`)).fingerprint, k.fingerprint);
  });
});

test('a known RSA public key has a fixed fingerprint (regression vector)', () => {
  // Built from fixed numbers, so the expected value cannot drift with randomness.
  const n = Buffer.alloc(128, 0xab);
  n[0] = 0xc1;
  const jwk = { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' };
  const der = Buffer.from(
    execFileSync('node', ['-e', `const c=require('node:crypto');process.stdout.write(c.createPublicKey({key:${JSON.stringify(jwk)},format:'jwk'}).export({type:'spki',format:'der'}).toString('base64'))`]).toString(),
    'base64',
  );
  const fp = importPublicKey(der.toString('base64')).fingerprint;
  const expected = execFileSync('bash', ['-c', `echo ${der.toString('base64')} | base64 -d | openssl md5 -c`]).toString().trim().split('= ')[1];
  assert.equal(fp, expected);
});

test('rejects material that is not a supported public key', () => {
  for (const bad of ['', 'hello world', 'ssh-rsa !!!!', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==', 'ssh-dss AAAAB3NzaC1kc3M=']) {
    assert.throws(() => importPublicKey(bad), KeyFormatError, bad);
  }
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
  assert.throws(() => importPublicKey(String(ec)), KeyFormatError);
  const small = generateKeyPairSync('rsa', { modulusLength: 768 }).publicKey.export({ type: 'spki', format: 'pem' });
  assert.throws(() => importPublicKey(String(small)), /length 768/);
  const mismatched = createKeyPair('ed25519', 'pem', 'x').publicKey.replace('ssh-ed25519', 'ssh-rsa');
  assert.throws(() => importPublicKey(mismatched), KeyFormatError);
});
