/**
 * @module api/s3/objects
 * Object bytes in and out: streaming a request body into a blob with every requested digest verified, and streaming
 * one or more blobs (with a byte range) out to the response.
 */
import { pipeline } from 'node:stream/promises';
import { AwsError, readSmallBody } from '../../shared/index.js';
import { createChecksum } from '../../auth/sigv4/index.js';
import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobHandle, BlobWriteResult, Checksummer, ObjectVersion } from '../../walrus/index.js';
import type { S3Context } from './context.js';

export const CHECKSUM_ALGOS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgo = (typeof CHECKSUM_ALGOS)[number];

/** Checksum implementations by algorithm (the signature module's, which covers every S3 flexible checksum). */
const FACTORIES: Partial<Record<string, () => Checksummer>> = Object.fromEntries(
  CHECKSUM_ALGOS.map((a) => [a, () => createChecksum(a)]),
);

/** Registers a checksum implementation (used to plug in CRC32C/CRC64NVME). */
export function registerChecksum(algo: string, make: () => Checksummer): void {
  FACTORIES[algo.toUpperCase()] = make;
}

export function checksumFactory(algo: string): (() => Checksummer) | undefined {
  return FACTORIES[algo.toUpperCase()];
}

export function invalidArgument(message: string, name?: string, value?: string): AwsError {
  return new AwsError('InvalidArgument', message, { fields: { ...(name ? { ArgumentName: name } : {}), ...(value !== undefined ? { ArgumentValue: value } : {}) } });
}

/** Checksums asked for by headers: `x-amz-checksum-<algo>` values and `x-amz-sdk-checksum-algorithm`/trailer names. */
function requestedChecksums(ctx: S3Context, extra?: string | null): { algos: Set<string>; expected: Record<string, string> } {
  const algos = new Set<string>();
  const expected: Record<string, string> = {};
  for (const a of CHECKSUM_ALGOS) {
    const v = ctx.req.headers[`x-amz-checksum-${a.toLowerCase()}`];
    if (typeof v === 'string') {
      algos.add(a);
      expected[a] = v;
    }
  }
  const sdk = ctx.req.headers['x-amz-sdk-checksum-algorithm'];
  if (typeof sdk === 'string' && sdk) algos.add(sdk.toUpperCase());
  const trailer = ctx.req.headers['x-amz-trailer'];
  if (typeof trailer === 'string') {
    for (const t of trailer.split(',')) {
      const m = /^x-amz-checksum-(\w+)$/i.exec(t.trim());
      if (m) algos.add(m[1]!.toUpperCase());
    }
  }
  if (extra) algos.add(extra.toUpperCase());
  for (const a of algos) {
    if (!FACTORIES[a]) {
      if ((CHECKSUM_ALGOS as readonly string[]).includes(a)) {
        throw new AwsError('NotImplemented', `The ${a} checksum algorithm is not implemented`, { status: 501 });
      }
      throw invalidArgument('Value for x-amz-checksum-algorithm header is invalid.', 'x-amz-sdk-checksum-algorithm', a);
    }
  }
  return { algos, expected };
}

export interface ReceivedBody extends BlobWriteResult {
  /** base64 checksums, verified against what the client sent. */
  verified: Record<string, string>;
  /** With `inline`: a small body's bytes, verified and not stored yet (`blobId` is empty); see `NewObject.data`. */
  data?: Buffer;
}

/**
 * Streams the request body into a new blob and verifies Content-MD5, x-amz-content-sha256, x-amz-checksum-* (header
 * or trailer) and the length. On any failure the blob is removed and the S3 error thrown.
 */
export async function receiveBody(ctx: S3Context, opts: { maxSize?: number; checksumAlgorithm?: string | null; inline?: boolean } = {}): Promise<ReceivedBody> {
  const md5Header = ctx.req.headers['content-md5'];
  if (md5Header !== undefined && (typeof md5Header !== 'string' || Buffer.from(md5Header, 'base64').length !== 16)) {
    throw new AwsError('InvalidDigest', 'The Content-MD5 you specified was invalid.', { fields: { 'Content-MD5': String(md5Header) } });
  }
  const { algos, expected } = requestedChecksums(ctx, opts.checksumAlgorithm);
  const checksums: Record<string, Checksummer> = {};
  for (const a of algos) checksums[a] = FACTORIES[a]!();
  const inline = opts.inline === true && ctx.walrus.inlineUpTo > 0;
  const packUpTo = inline ? ctx.walrus.inlineUpTo : ctx.walrus.packUpTo;
  let r: BlobWriteResult;
  let pending: Buffer | undefined;
  if (packUpTo > 0 && ctx.contentLength !== undefined && ctx.contentLength <= packUpTo) {
    // small object: verified in memory, then stored with group commit (in a pack file, or inline with its row)
    const buf = await readWhole(ctx.body(), packUpTo);
    const sums: Record<string, string> = {};
    for (const [a, c] of Object.entries(checksums)) {
      c.update(buf);
      sums[a] = c.digest();
    }
    r = {
      blobId: '', size: buf.length, md5: hash('md5', buf, 'hex'), checksums: sums,
      ...(ctx.bodyCheck.kind === 'sha256' ? { sha256: hash('sha256', buf, 'hex') } : {}),
    };
    pending = buf;
  } else {
    r = await ctx.blobs.write(ctx.body(), {
      checksums, sha256: ctx.bodyCheck.kind === 'sha256', maxSize: opts.maxSize ?? 5 * 1024 ** 4,
    });
  }
  try {
    if (ctx.contentLength !== undefined && r.size !== ctx.contentLength) {
      throw new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
    if (ctx.bodyCheck.kind === 'sha256' && r.sha256 !== ctx.bodyCheck.expected.toLowerCase()) {
      throw new AwsError('XAmzContentSHA256Mismatch', 'The provided \'x-amz-content-sha256\' header does not match what was computed.', {
        fields: { ClientComputedContentSHA256: ctx.bodyCheck.expected, S3ComputedContentSHA256: r.sha256 ?? '' },
      });
    }
    if (typeof md5Header === 'string' && Buffer.from(md5Header, 'base64').toString('hex') !== r.md5) {
      throw new AwsError('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
        fields: { ExpectedDigest: md5Header, CalculatedDigest: Buffer.from(r.md5, 'hex').toString('base64') },
      });
    }
    const trailers = ctx.trailers();
    for (const a of algos) {
      const want = expected[a] ?? trailers[`x-amz-checksum-${a.toLowerCase()}`];
      if (want !== undefined && want !== r.checksums[a]) {
        throw new AwsError('BadDigest', `The ${a} you specified did not match the calculated checksum.`);
      }
    }
  } catch (e) {
    if (!pending) await ctx.blobs.delete(r.blobId);
    throw e;
  }
  if (pending && inline) return { ...r, verified: r.checksums, data: pending };
  if (pending) r.blobId = await ctx.blobs.writeSmall!(pending);
  return { ...r, verified: r.checksums };
}

function incompleteBody(): AwsError {
  return new AwsError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
}

/** A small body whole, refusing more than `limit` bytes (IncompleteBody); the request itself is read by its events. */
async function readWhole(src: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  if (src instanceof Readable && !src.readableEnded) return readSmallBody(src, limit, incompleteBody);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    n += c.length;
    if (n > limit) throw incompleteBody();
    parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length));
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
}

/** Opens every blob of a version before a byte is sent, so the read is of one whole version. */
export async function openVersion(ctx: S3Context, v: ObjectVersion): Promise<BlobHandle[]> {
  const handles: BlobHandle[] = [];
  try {
    for (const b of v.blobs) handles.push(await ctx.walrus.openBlob(b));
  } catch (e) {
    for (const h of handles) await h.close();
    throw e;
  }
  return handles;
}

/** Yields bytes [start, end] (inclusive) of the concatenation of `handles`, closing every handle. */
export async function* rangeOf(handles: BlobHandle[], start: number, end: number): AsyncGenerator<Uint8Array> {
  let offset = 0;
  try {
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i]!;
      const from = Math.max(start - offset, 0);
      const to = Math.min(end - offset, h.size - 1);
      offset += h.size;
      if (to < from || from >= h.size) {
        await h.close();
        continue;
      }
      for await (const c of h.stream(from, to)) yield c as Uint8Array;
    }
  } finally {
    for (const h of handles) await h.close().catch(() => undefined);
  }
}

/**
 * Sends bytes [start, end] of the concatenated blobs to the response: positioned reads of 1 MiB (larger chunks
 * measured slower here: they fall out of the CPU caches between the read and the socket write), the next read in
 * flight while the previous ones are written. The chunks come from three buffers reused for the whole response (a
 * buffer is reused once the socket has taken its bytes, which is the backpressure), so a long download allocates
 * nothing per chunk. Every handle is closed at the end; a broken connection just stops it.
 */
export async function sendRange(ctx: S3Context, handles: BlobHandle[], start: number, end: number): Promise<void> {
  const CH = 1 << 20;
  const res = ctx.res;
  let offset = 0;
  const size = Math.min(CH, end - start + 1);
  const free: Buffer[] = [];
  let made = 0;
  const waiting: ((b: Buffer) => void)[] = [];
  const release = (b: Buffer) => {
    const w = waiting.shift();
    if (w) w(b);
    else free.push(b);
  };
  const take = (): Promise<Buffer> => {
    const b = free.pop();
    if (b) return Promise.resolve(b);
    if (made < 3) {
      made++;
      return Promise.resolve(Buffer.allocUnsafe(size));
    }
    return new Promise((r) => waiting.push(r));
  };
  // a closed connection may never call back for its pending writes: nothing may wait for their buffers then
  res.once('close', () => { for (const w of waiting.splice(0)) w(Buffer.allocUnsafe(size)); });
  try {
    for (const h of handles) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(end - offset, h.size - 1);
      offset += h.size;
      if (to < from) continue;
      let pos = from;
      const readAt = (p: number) => {
        const pr = take().then(async (buf) => ({ n: await h.read(buf, p, Math.min(CH, to - p + 1)), buf }));
        pr.catch(() => undefined);
        return pr;
      };
      let next = readAt(pos);
      while (pos <= to) {
        const { n, buf } = await next;
        if (n === 0) throw new Error('blob shorter than recorded');
        pos += n;
        if (pos <= to) next = readAt(pos);
        if (res.destroyed) return;
        // backpressure: a buffer comes back only once the socket has taken its bytes, so at most three chunks are
        // queued or being read; not waiting for 'drain' keeps the next chunk queued behind the one being sent
        res.write(buf.subarray(0, n), () => release(buf));
      }
    }
    res.end();
  } catch (e) {
    if (!res.destroyed) res.destroy(e as Error);
  } finally {
    for (const h of handles) await h.close().catch(() => undefined);
  }
}

/** Streams bytes to the response with backpressure; a broken connection just ends it. */
export async function streamOut(ctx: S3Context, source: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await pipeline(source, ctx.res);
  } catch (e) {
    if (!ctx.res.destroyed) ctx.res.destroy(e as Error);
  }
}

/** Parses a Range header against a size: [start, end] inclusive, undefined for the whole object, 416 when unsatisfiable. */
export function parseRange(h: string | undefined, size: number): [number, number] | undefined {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m) return undefined; // multiple or malformed ranges: the whole object, as S3 does
  const [, a, b] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw invalidRange(size);
    start = Math.max(size - n, 0);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return [start, end];
}

export function invalidRange(size: number): AwsError {
  return new AwsError('InvalidRange', 'The requested range is not satisfiable', {
    status: 416, fields: { RangeRequested: '', ActualObjectSize: String(size) }, headers: { 'content-range': `bytes */${size}` },
  });
}
