/**
 * bench/checksums: throughput of the flexible-checksum implementations in src/auth/sigv4 and of the aws-chunked
 * decoder, next to references measured in the same run: @aws-sdk/checksums (what the SDK v3 itself uses), zlib's
 * native crc32, node:crypto's hashes, and a PassThrough stream for the decoder.
 *
 * Run: node --import tsx bench/checksums.ts [--mib 256]
 * Each line is the best of 3 runs over a random buffer fed in 1 MiB slices (as a streamed upload arrives).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { createChecksum, createChunkedDecoder, type AuthResult } from '../src/auth/sigv4/index.js';
import { crc32Js } from '../src/auth/sigv4/checksums.js';

const mibIdx = process.argv.indexOf('--mib');
const MIB = mibIdx > 0 ? Number(process.argv[mibIdx + 1]) : 256;
const data = randomBytes(MIB * 1024 * 1024);
const SLICE = 1024 * 1024;

function report(name: string, seconds: number): number {
  const mbs = MIB / seconds;
  console.log(`${name.padEnd(48)} ${mbs.toFixed(0).padStart(7)} MiB/s`);
  return mbs;
}

function measure(name: string, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return report(name, best);
}

async function measureAsync(name: string, fn: () => Promise<void>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return report(name, best);
}

function ours(a: Parameters<typeof createChecksum>[0]): () => void {
  return () => {
    const c = createChecksum(a);
    for (let o = 0; o < data.length; o += SLICE) c.update(data.subarray(o, o + SLICE));
    c.digest();
  };
}

function sdk(C: new () => { update(b: Uint8Array): void; digest(): Promise<Uint8Array> }): () => void {
  return () => {
    const c = new C();
    for (let o = 0; o < data.length; o += SLICE) c.update(data.subarray(o, o + SLICE));
    void c.digest();
  };
}

console.log(`node ${process.version}, ${MIB} MiB random data, 1 MiB slices, best of 3`);
measure('CRC32     ours (zlib.crc32, native)', ours('CRC32'));
measure('CRC32     ours, pure JS slicing-by-16 (fallback)', () => {
  let c = 0;
  for (let o = 0; o < data.length; o += SLICE) c = crc32Js(c, data.subarray(o, o + SLICE));
});
measure('CRC32     @aws-sdk/checksums (reference)', sdk(Crc32));
measure('CRC32C    ours, pure JS slicing-by-16', ours('CRC32C'));
measure('CRC32C    @aws-sdk/checksums (reference)', sdk(Crc32c));
measure('CRC64NVME ours, pure JS slicing-by-8', ours('CRC64NVME'));
measure('CRC64NVME @aws-sdk/checksums (reference)', sdk(Crc64Nvme));
measure('SHA256    node:crypto', ours('SHA256'));
measure('SHA1      node:crypto', ours('SHA1'));
measure('MD5       node:crypto', ours('MD5'));

// aws-chunked decoding, 64 KiB chunks: unsigned with a CRC32 trailer, and signed (sha256 + HMAC per chunk).
const CHUNK = 64 * 1024;
const key = randomBytes(32);
const signer = { sign: (s: string): string => createHmac('sha256', key).update(s).digest('hex') };
const scope = '20260101/us-east-1/s3/aws4_request';
const amzDate = '20260101T000000Z';
const EMPTY = createHash('sha256').digest('hex');

function body(signed: boolean): Buffer[] {
  const parts: Buffer[] = [];
  let prev = 'seed';
  const chunk = (piece: Buffer): void => {
    if (signed) {
      const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${prev}\n${EMPTY}\n${createHash('sha256').update(piece).digest('hex')}`;
      prev = signer.sign(sts);
      parts.push(Buffer.from(`${piece.length.toString(16)};chunk-signature=${prev}\r\n`));
    } else parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`));
    if (piece.length) parts.push(piece, Buffer.from('\r\n'));
  };
  for (let o = 0; o < data.length; o += CHUNK) chunk(data.subarray(o, o + CHUNK));
  chunk(Buffer.alloc(0));
  if (signed) parts.push(Buffer.from('\r\n'));
  else {
    const c = createChecksum('CRC32');
    c.update(data);
    parts.push(Buffer.from(`x-amz-checksum-crc32:${c.digest()}\r\n\r\n`));
  }
  return parts;
}
const result = (signed: boolean): AuthResult => ({
  identity: null,
  method: 'sigv4-header',
  payload: { kind: 'aws-chunked', signed, trailer: !signed, seedSignature: 'seed', scope, amzDate, signer },
});
const sink = (): Writable => new Writable({ write(_c, _e, cb): void { cb(); } });
const unsignedBody = body(false);
const signedBody = body(true);
const length = { 'x-amz-decoded-content-length': [String(data.length)] };
await measureAsync('reference: the same bytes through a PassThrough', () => pipeline(Readable.from(unsignedBody), new PassThrough(), sink()));
await measureAsync('aws-chunked decode, unsigned + CRC32 trailer', () =>
  pipeline(Readable.from(unsignedBody), createChunkedDecoder(result(false), { ...length, 'x-amz-trailer': ['x-amz-checksum-crc32'] }), sink()),
);
await measureAsync('aws-chunked decode, signed chunks (64 KiB)', () => pipeline(Readable.from(signedBody), createChunkedDecoder(result(true), length), sink()));
