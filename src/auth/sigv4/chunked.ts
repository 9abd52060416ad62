/**
 * @module auth/sigv4/chunked
 * aws-chunked request bodies (`Content-Encoding: aws-chunked`), decoded as a stream:
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: `hex(size);chunk-signature=<sig>\r\n<data>\r\n` … `0;chunk-signature=<sig>\r\n\r\n`,
 *   each signature chained from the previous one, starting at the Authorization header's (seed) signature;
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, then trailer lines and `x-amz-trailer-signature:<sig>`;
 * - STREAMING-UNSIGNED-PAYLOAD-TRAILER: `hex(size)\r\n<data>\r\n` … `0\r\n`, then trailer lines, unsigned.
 * The decoded bytes are pushed as they arrive (never a whole chunk buffered): a consumer must treat an 'error'
 * as "discard everything" — a chunk's signature is known to be good only once the chunk has been read.
 * The checksum named by `x-amz-trailer` is computed on the decoded bytes and compared with the trailer's value.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { EMPTY_SHA256, safeEqual, sha256Hex } from './canonical.js';
import { checksumAlgorithmOfHeader, createChecksum, type Checksum, type ChecksumAlgorithm } from './checksums.js';
import { AuthError } from './errors.js';
import type { AuthResult, PayloadMode } from './types.js';

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;
const CR = 0x0d;
const LF = 0x0a;

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

export type ChunkedDecoder = Transform & {
  /** Trailing headers (lower-case names), available after 'end'. */
  trailers(): Record<string, string>;
  /** The flexible checksum the trailer announced, as computed over the decoded payload (after 'end'). */
  checksum(): { algorithm: ChecksumAlgorithm; value: string } | undefined;
  /** Decoded payload bytes so far. */
  decodedLength(): number;
};

function first(headers: Record<string, string[]>, name: string): string | undefined {
  return headers[name]?.[0];
}

const method = 'aws-chunked';

/**
 * A Transform from the raw aws-chunked body to the decoded payload, verifying chunk and trailer signatures,
 * x-amz-decoded-content-length, and the trailing checksum. Errors are AuthErrors (map with toServiceError('s3', e)):
 * SignatureMismatch, IncompleteBody, BadDigest, Malformed.
 */
export function createChunkedDecoder(result: AuthResult, headers: Record<string, string[]>): ChunkedDecoder {
  if (result.payload.kind !== 'aws-chunked') throw new TypeError('createChunkedDecoder needs an aws-chunked payload');
  const p: Extract<PayloadMode, { kind: 'aws-chunked' }> = result.payload;
  const declaredRaw = first(headers, 'x-amz-decoded-content-length');
  let declared: number | undefined;
  if (declaredRaw !== undefined) {
    if (!/^\d{1,15}$/.test(declaredRaw.trim())) throw new AuthError('Malformed', 'Invalid x-amz-decoded-content-length', { method });
    declared = Number(declaredRaw.trim());
  }
  const declaredTrailers = (headers['x-amz-trailer'] ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (declaredTrailers.length > 0 && !p.trailer) {
    throw new AuthError('Malformed', 'x-amz-trailer needs a STREAMING-…-TRAILER x-amz-content-sha256', { method });
  }
  let checksumAlgo: ChecksumAlgorithm | undefined;
  let checksumName: string | undefined;
  for (const t of declaredTrailers) {
    const a = checksumAlgorithmOfHeader(t);
    if (a) {
      checksumAlgo = a;
      checksumName = t;
    }
  }
  const checksum: Checksum | undefined = checksumAlgo ? createChecksum(checksumAlgo) : undefined;

  let state: State = 'header';
  let line: Buffer[] = [];
  let lineLen = 0;
  let remaining = 0;
  let chunkSig: string | undefined;
  let chunkHash: Hash | undefined;
  let prevSig = p.seedSignature;
  let total = 0;
  let finalChunk = false;
  let trailerBytes = 0;
  const trailerLines: string[] = [];
  const trailers: Record<string, string> = {};
  let computedChecksum: string | undefined;

  const fail = (kind: AuthError['kind'], message: string, extra: Record<string, unknown> = {}): AuthError =>
    new AuthError(kind, message, { method, ...extra });

  function verifyChunk(dataHash: string): void {
    if (!p.signed) return;
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${p.amzDate}\n${p.scope}\n${prevSig}\n${EMPTY_SHA256}\n${dataHash}`;
    if (!chunkSig || !safeEqual(p.signer.sign(sts), chunkSig)) {
      throw fail('SignatureMismatch', 'The chunk signature we calculated does not match the signature you provided.', { stringToSign: sts, signatureProvided: chunkSig });
    }
    prevSig = chunkSig;
  }

  function onHeaderLine(text: string): void {
    const m = /^([0-9a-fA-F]{1,15})((?:;[^;]*)*)$/.exec(text);
    if (!m) throw fail('Malformed', 'Invalid chunk header in aws-chunked body.');
    const size = parseInt(m[1]!, 16);
    chunkSig = undefined;
    for (const ext of (m[2] ?? '').split(';').slice(1)) {
      const eq = ext.indexOf('=');
      if (eq > 0 && ext.slice(0, eq).trim() === 'chunk-signature') chunkSig = ext.slice(eq + 1).trim();
    }
    if (p.signed && !chunkSig) throw fail('SignatureMismatch', 'A chunk of a signed aws-chunked body has no chunk-signature.');
    if (declared !== undefined && total + size > declared) {
      throw fail('Malformed', 'The aws-chunked body is longer than x-amz-decoded-content-length.');
    }
    remaining = size;
    chunkHash = p.signed ? createHash('sha256') : undefined;
    if (size === 0) {
      verifyChunk(EMPTY_SHA256);
      finalChunk = true;
      state = p.trailer ? 'trailer' : 'data-crlf';
    } else {
      state = 'data';
    }
  }

  function onTrailerLine(text: string): void {
    if (text === '') {
      finishTrailers();
      return;
    }
    const c = text.indexOf(':');
    if (c <= 0) throw fail('Malformed', 'Invalid trailing header in aws-chunked body.');
    trailerLines.push(text);
  }

  function finishTrailers(): void {
    let signature: string | undefined;
    let canonical = '';
    for (const l of trailerLines) {
      const c = l.indexOf(':');
      const name = l.slice(0, c).trim().toLowerCase();
      const value = l.slice(c + 1).trim();
      if (name === 'x-amz-trailer-signature') {
        signature = value;
        continue;
      }
      if (!declaredTrailers.includes(name)) throw fail('Malformed', `The trailing header '${name}' was not declared in x-amz-trailer.`);
      trailers[name] = value;
      canonical += `${name}:${value}\n`;
    }
    if (p.signed) {
      const sts = `AWS4-HMAC-SHA256-TRAILER\n${p.amzDate}\n${p.scope}\n${prevSig}\n${sha256Hex(canonical)}`;
      if (!signature || !safeEqual(p.signer.sign(sts), signature)) {
        throw fail('SignatureMismatch', 'The trailer signature we calculated does not match the signature you provided.', { stringToSign: sts, signatureProvided: signature });
      }
    }
    for (const t of declaredTrailers) {
      if (trailers[t] === undefined) throw fail('Malformed', `The trailing header '${t}' declared in x-amz-trailer is missing.`);
    }
    state = 'done';
  }

  function endOfData(): void {
    verifyChunk(chunkHash ? chunkHash.digest('hex') : '');
    chunkHash = undefined;
    state = 'data-crlf';
  }

  /** Collects one CRLF-terminated line starting at `i`; returns the index after LF, or -1 if the line continues. */
  function takeLine(buf: Buffer, i: number, limit: number): { next: number; text?: string } {
    const lf = buf.indexOf(LF, i);
    const end = lf < 0 ? buf.length : lf + 1;
    lineLen += end - i;
    if (lineLen > limit) throw fail('Malformed', 'Line too long in aws-chunked body.');
    line.push(buf.subarray(i, end));
    if (lf < 0) return { next: end };
    const all = line.length === 1 ? line[0]! : Buffer.concat(line);
    line = [];
    lineLen = 0;
    if (all.length < 2 || all[all.length - 2] !== CR) throw fail('Malformed', 'Chunk lines must end with CRLF.');
    return { next: end, text: all.subarray(0, all.length - 2).toString('latin1') };
  }

  const decoder = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      try {
        let i = 0;
        while (i < chunk.length) {
          switch (state) {
            case 'header': {
              const r = takeLine(chunk, i, MAX_LINE);
              i = r.next;
              if (r.text !== undefined) onHeaderLine(r.text);
              break;
            }
            case 'data': {
              const n = Math.min(remaining, chunk.length - i);
              const piece = chunk.subarray(i, i + n);
              chunkHash?.update(piece);
              checksum?.update(piece);
              total += n;
              remaining -= n;
              i += n;
              this.push(piece);
              if (remaining === 0) endOfData();
              break;
            }
            case 'data-crlf': {
              const r = takeLine(chunk, i, 2);
              i = r.next;
              if (r.text !== undefined) {
                if (r.text !== '') throw fail('Malformed', 'Chunk data must be followed by CRLF.');
                state = finalChunk ? 'done' : 'header';
              }
              break;
            }
            case 'trailer': {
              const before = i;
              const r = takeLine(chunk, i, MAX_LINE);
              i = r.next;
              trailerBytes += i - before;
              if (trailerBytes > MAX_TRAILER_BYTES) throw fail('Malformed', 'Trailing headers too long.');
              if (r.text !== undefined) onTrailerLine(r.text);
              break;
            }
            case 'done':
              throw fail('Malformed', 'Data after the end of the aws-chunked body.');
          }
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback): void {
      try {
        // Some clients end the body right after the last trailer line, without the empty line.
        if (state === 'trailer' && line.length === 0 && trailerLines.length > 0) finishTrailers();
        if (state !== 'done') {
          throw fail('IncompleteBody', 'The aws-chunked body ended before its final chunk.');
        }
        if (declared !== undefined && total !== declared) {
          throw fail('IncompleteBody', 'You did not provide the number of bytes specified by x-amz-decoded-content-length.');
        }
        if (checksum && checksumName) {
          computedChecksum = checksum.digest();
          if (trailers[checksumName] !== computedChecksum) {
            throw fail('BadDigest', `The ${checksumAlgo} you specified did not match the calculated checksum.`, { algorithm: checksumAlgo });
          }
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  return Object.assign(decoder, {
    trailers: (): Record<string, string> => ({ ...trailers }),
    checksum: (): { algorithm: ChecksumAlgorithm; value: string } | undefined =>
      checksumAlgo && computedChecksum !== undefined ? { algorithm: checksumAlgo, value: computedChecksum } : undefined,
    decodedLength: (): number => total,
  });
}

/**
 * For `payload.kind === 'sha256'`: a pass-through that hashes the body and fails at the end with
 * ContentSHA256Mismatch (S3 XAmzContentSHA256Mismatch) when it differs from x-amz-content-sha256.
 */
export function createSha256Verifier(expected: string): Transform {
  const h = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, cb): void {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb): void {
      const got = h.digest('hex');
      if (got !== expected) {
        cb(new AuthError('ContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", { method: 'sigv4-header', clientSha256: expected, computedSha256: got }));
      } else cb();
    },
  });
}
