import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { createChecksum, type ChecksumAlgorithm } from './index.js';
import { Crc64Nvme as OurCrc64, crc32Js, crc32cJs } from './checksums.js';

const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');
const digestOf = (a: ChecksumAlgorithm, data: Buffer): string => {
  const c = createChecksum(a);
  c.update(data);
  return c.digest();
};

test('checksums: the standard check values ("123456789") and known digests', () => {
  const nine = Buffer.from('123456789');
  assert.equal(hex(digestOf('CRC32', nine)), 'cbf43926');
  assert.equal(hex(digestOf('CRC32C', nine)), 'e3069283');
  assert.equal(hex(digestOf('CRC64NVME', nine)), 'ae8b14860a799888');
  assert.equal(crc32Js(0, nine), 0xcbf43926);
  assert.equal(digestOf('CRC32', Buffer.from('hello world')), 'DUoRhQ==');
  assert.equal(digestOf('CRC32', Buffer.alloc(0)), 'AAAAAA==');
  assert.equal(digestOf('SHA256', Buffer.from('abc')), createHash('sha256').update('abc').digest('base64'));
  assert.equal(digestOf('SHA1', Buffer.from('abc')), 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=');
  assert.equal(digestOf('MD5', Buffer.from('')), '1B2M2Y8AsgTpgAmY7PhCfg==');
  // CRC32C of 66560 'a' bytes: the trailer in the S3 sigv4-streaming-trailers example
  assert.equal(digestOf('CRC32C', Buffer.alloc(66560, 'a')), 'sOO8/Q==');
});

test('checksums: incremental updates over odd splits equal one-shot, and equal @aws-sdk/checksums', async () => {
  const data = Buffer.alloc(1_000_003);
  let x = 12345;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const oracles = { CRC32: Crc32, CRC32C: Crc32c, CRC64NVME: Crc64Nvme } as const;
  for (const a of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'MD5'] as const) {
    const whole = digestOf(a, data);
    const c = createChecksum(a);
    let o = 0;
    for (const n of [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 4095, 65536, 100_001]) {
      c.update(data.subarray(o, o + n));
      o += n;
    }
    c.update(data.subarray(o));
    assert.equal(c.digest(), whole, a);
    if (a in oracles) {
      const ref = new oracles[a as keyof typeof oracles]();
      ref.update(data);
      assert.equal(Buffer.from(await ref.digest()).toString('base64'), whole, `${a} vs @aws-sdk/checksums`);
    }
  }
});

test('checksums: the word-at-a-time and bytewise paths agree, at every alignment', () => {
  const data = Buffer.alloc(4099);
  for (let i = 0; i < data.length; i++) data[i] = (i * 151 + 17) & 0xff;
  for (let off = 0; off < 8; off++) {
    for (const len of [0, 1, 7, 8, 15, 16, 17, 33, 4000]) {
      const b = data.subarray(off, off + len);
      assert.equal(crc32Js(0, b, true), crc32Js(0, b, false));
      assert.equal(crc32cJs(0, b, true), crc32cJs(0, b, false));
      const x = new OurCrc64(true);
      const y = new OurCrc64(false);
      x.update(b);
      y.update(b);
      assert.equal(x.digest(), y.digest());
    }
  }
  const y = new OurCrc64(false);
  y.update(Buffer.from('123456789'));
  assert.equal(hex(y.digest()), 'ae8b14860a799888');
  assert.equal(crc32cJs(0, Buffer.from('123456789abcdefghijk'), false), crc32cJs(0, Buffer.from('123456789abcdefghijk'), true));
});
