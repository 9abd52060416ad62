/**
 * @module auth/sigv4/checksums
 * S3 flexible checksums, incremental: CRC32 (zlib's native crc32 when Node has it, else table-driven JS),
 * CRC32C (slicing-by-16) and CRC64NVME (slicing-by-8) tables in pure JS, reading aligned 32-bit words, SHA1 and SHA256 (node:crypto), and MD5 for Content-MD5.
 * Digests are base64 of the big-endian value, as AWS writes them in `x-amz-checksum-*` headers and trailers.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256' | 'MD5';

export interface Checksum {
  update(b: Uint8Array): void;
  /** base64 of the digest (big-endian for the CRCs). */
  digest(): string;
}

/** Slicing-by-16 tables for a reflected 32-bit CRC. */
function crc32Tables(poly: number): Int32Array {
  const t = new Int32Array(16 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 16; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

const CRC32_TABLES = crc32Tables(0xedb88320);
const CRC32C_TABLES = crc32Tables(0x82f63b78);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Updates a reflected CRC-32 (pre/post inverted) with slicing-by-16. `crc` and the result are unsigned.
 * On little-endian machines the 4-byte-aligned middle of the buffer is read as 32-bit words (a third faster).
 */
export function crc32Update(t: Int32Array, crc: number, b: Uint8Array, words = LITTLE_ENDIAN): number {
  let c = ~crc | 0;
  let i = 0;
  const n = b.length;
  if (words) {
    while (i < n && ((b.byteOffset + i) & 3) !== 0) c = t[(c ^ b[i++]!) & 0xff]! ^ (c >>> 8);
    const blocks = (n - i) >>> 4;
    if (blocks > 0) {
      const w = new Int32Array(b.buffer, b.byteOffset + i, blocks * 4);
      for (let k = 0; k < w.length; k += 4) {
        const a = c ^ w[k]!;
        const x = w[k + 1]!;
        const y = w[k + 2]!;
        const z = w[k + 3]!;
        c =
          t[3840 + (a & 0xff)]! ^
          t[3584 + ((a >>> 8) & 0xff)]! ^
          t[3328 + ((a >>> 16) & 0xff)]! ^
          t[3072 + (a >>> 24)]! ^
          t[2816 + (x & 0xff)]! ^
          t[2560 + ((x >>> 8) & 0xff)]! ^
          t[2304 + ((x >>> 16) & 0xff)]! ^
          t[2048 + (x >>> 24)]! ^
          t[1792 + (y & 0xff)]! ^
          t[1536 + ((y >>> 8) & 0xff)]! ^
          t[1280 + ((y >>> 16) & 0xff)]! ^
          t[1024 + (y >>> 24)]! ^
          t[768 + (z & 0xff)]! ^
          t[512 + ((z >>> 8) & 0xff)]! ^
          t[256 + ((z >>> 16) & 0xff)]! ^
          t[z >>> 24]!;
      }
      i += blocks * 16;
    }
  } else {
    const end16 = n - ((n - i) % 16);
    while (i < end16) {
      const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
      c =
        t[3840 + (a & 0xff)]! ^
        t[3584 + ((a >>> 8) & 0xff)]! ^
        t[3328 + ((a >>> 16) & 0xff)]! ^
        t[3072 + (a >>> 24)]! ^
        t[2816 + b[i + 4]!]! ^
        t[2560 + b[i + 5]!]! ^
        t[2304 + b[i + 6]!]! ^
        t[2048 + b[i + 7]!]! ^
        t[1792 + b[i + 8]!]! ^
        t[1536 + b[i + 9]!]! ^
        t[1280 + b[i + 10]!]! ^
        t[1024 + b[i + 11]!]! ^
        t[768 + b[i + 12]!]! ^
        t[512 + b[i + 13]!]! ^
        t[256 + b[i + 14]!]! ^
        t[b[i + 15]!]!;
      i += 16;
    }
  }
  while (i < n) c = t[(c ^ b[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32cJs(crc: number, b: Uint8Array, words = LITTLE_ENDIAN): number {
  return crc32Update(CRC32C_TABLES, crc, b, words);
}

export function crc32Js(crc: number, b: Uint8Array, words = LITTLE_ENDIAN): number {
  return crc32Update(CRC32_TABLES, crc, b, words);
}

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (ISO-HDLC, as zlib): native when available. */
export function crc32(crc: number, b: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(b, crc) : crc32Js(crc, b);
}

/** CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. Tables as hi/lo 32-bit halves. */
const C64_LO = new Int32Array(8 * 256);
const C64_HI = new Int32Array(8 * 256);
{
  const PLO = 0xac4bc9b5 | 0;
  const PHI = 0x9a6c9329 | 0;
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = (lo >>> 1) | ((hi & 1) << 31);
      hi = hi >>> 1;
      if (bit) {
        lo ^= PLO;
        hi ^= PHI;
      }
    }
    C64_LO[i] = lo;
    C64_HI[i] = hi;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const plo = C64_LO[(s - 1) * 256 + i]!;
      const phi = C64_HI[(s - 1) * 256 + i]!;
      const idx = plo & 0xff;
      // (prev >>> 8) ^ T0[prev & 0xff]
      C64_LO[s * 256 + i] = ((plo >>> 8) | (phi << 24)) ^ C64_LO[idx]!;
      C64_HI[s * 256 + i] = (phi >>> 8) ^ C64_HI[idx]!;
    }
  }
}

export class Crc64Nvme implements Checksum {
  private lo = ~0;
  private hi = ~0;
  /** `words`: read aligned 32-bit words (little-endian machines); false forces the bytewise path. */
  constructor(private readonly words = LITTLE_ENDIAN) {}
  update(b: Uint8Array): void {
    let lo = this.lo;
    let hi = this.hi;
    const TL = C64_LO;
    const TH = C64_HI;
    let i = 0;
    const n = b.length;
    if (this.words) {
      // bytewise up to a 4-byte boundary, then 8 bytes at a time as two 32-bit words
      while (i < n && ((b.byteOffset + i) & 3) !== 0) {
        const idx = (lo ^ b[i++]!) & 0xff;
        lo = ((lo >>> 8) | (hi << 24)) ^ TL[idx]!;
        hi = (hi >>> 8) ^ TH[idx]!;
      }
      const blocks = (n - i) >>> 3;
      if (blocks > 0) {
        const w = new Int32Array(b.buffer, b.byteOffset + i, blocks * 2);
        for (let k = 0; k < w.length; k += 2) {
          const xl = lo ^ w[k]!;
          const xh = hi ^ w[k + 1]!;
          const i7 = 1792 + (xl & 0xff);
          const i6 = 1536 + ((xl >>> 8) & 0xff);
          const i5 = 1280 + ((xl >>> 16) & 0xff);
          const i4 = 1024 + (xl >>> 24);
          const i3 = 768 + (xh & 0xff);
          const i2 = 512 + ((xh >>> 8) & 0xff);
          const i1 = 256 + ((xh >>> 16) & 0xff);
          const i0 = xh >>> 24;
          lo = TL[i7]! ^ TL[i6]! ^ TL[i5]! ^ TL[i4]! ^ TL[i3]! ^ TL[i2]! ^ TL[i1]! ^ TL[i0]!;
          hi = TH[i7]! ^ TH[i6]! ^ TH[i5]! ^ TH[i4]! ^ TH[i3]! ^ TH[i2]! ^ TH[i1]! ^ TH[i0]!;
        }
        i += blocks * 8;
      }
    } else {
      const end8 = n - (n % 8);
      while (i < end8) {
        const xl = lo ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
        const xh = hi ^ (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24));
        const i7 = 1792 + (xl & 0xff);
        const i6 = 1536 + ((xl >>> 8) & 0xff);
        const i5 = 1280 + ((xl >>> 16) & 0xff);
        const i4 = 1024 + (xl >>> 24);
        const i3 = 768 + (xh & 0xff);
        const i2 = 512 + ((xh >>> 8) & 0xff);
        const i1 = 256 + ((xh >>> 16) & 0xff);
        const i0 = xh >>> 24;
        lo = TL[i7]! ^ TL[i6]! ^ TL[i5]! ^ TL[i4]! ^ TL[i3]! ^ TL[i2]! ^ TL[i1]! ^ TL[i0]!;
        hi = TH[i7]! ^ TH[i6]! ^ TH[i5]! ^ TH[i4]! ^ TH[i3]! ^ TH[i2]! ^ TH[i1]! ^ TH[i0]!;
        i += 8;
      }
    }
    while (i < n) {
      const idx = (lo ^ b[i++]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TL[idx]!;
      hi = (hi >>> 8) ^ TH[idx]!;
    }
    this.lo = lo;
    this.hi = hi;
  }
  digest(): string {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out.toString('base64');
  }
}

class Crc32Like implements Checksum {
  private crc = 0;
  constructor(private readonly fn: (crc: number, b: Uint8Array) => number) {}
  update(b: Uint8Array): void {
    this.crc = this.fn(this.crc, b);
  }
  digest(): string {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out.toString('base64');
  }
}

class HashChecksum implements Checksum {
  private readonly h;
  constructor(algo: string) {
    this.h = createHash(algo);
  }
  update(b: Uint8Array): void {
    this.h.update(b);
  }
  digest(): string {
    return this.h.digest('base64');
  }
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Like(crc32);
    case 'CRC32C':
      return new Crc32Like((c, b) => crc32cJs(c, b));
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new HashChecksum('sha1');
    case 'SHA256':
      return new HashChecksum('sha256');
    case 'MD5':
      return new HashChecksum('md5');
  }
}

/** `x-amz-checksum-crc32` → 'CRC32' …; undefined for anything else. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  switch (name.toLowerCase()) {
    case 'x-amz-checksum-crc32':
      return 'CRC32';
    case 'x-amz-checksum-crc32c':
      return 'CRC32C';
    case 'x-amz-checksum-crc64nvme':
      return 'CRC64NVME';
    case 'x-amz-checksum-sha1':
      return 'SHA1';
    case 'x-amz-checksum-sha256':
      return 'SHA256';
    default:
      return undefined;
  }
}
