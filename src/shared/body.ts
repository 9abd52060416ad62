/**
 * @module shared/body
 * Reading a small request body whole, for the query APIs' gateway and Walrus's small objects.
 */
import type { Readable } from 'node:stream';

/** What one read in progress keeps, on the stream itself (under a symbol), for the shared listeners below. */
interface BodyRead {
  parts: Buffer[];
  n: number;
  limit: number;
  tooLarge: () => Error;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}
const kRead = Symbol('euca.bodyRead');
type Reading = Readable & { [kRead]?: BodyRead | undefined };

/**
 * The whole body of `src`, at most `limit` bytes, read by its events (for a body of a chunk or two that costs less
 * than an async iterator and its promises). More than `limit` bytes: rejects with `tooLarge()`, the stream paused and
 * no longer read. Closed before its end (the client went away): rejects with an `ERR_STREAM_PREMATURE_CLOSE` error.
 *
 * With `length` (the request's Content-Length, at most `limit`), a body that node has already buffered whole by the
 * next tick (it came in the same read as the headers, as a small request's body usually does) is taken from the
 * stream's buffer at once, without switching the stream to flowing mode and waiting for its events.
 *
 * The listeners are module-level functions that find their read through the stream they are called on (`this`): no
 * closures are made per request (under tsx, every named closure also costs a `defineProperty` of its name).
 */
export function readSmallBody(src: Readable, limit: number, tooLarge: () => Error, length?: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    (src as Reading)[kRead] = { parts: [], n: 0, limit, tooLarge, resolve, reject };
    if (length !== undefined && length > 0 && length <= limit) process.nextTick(takeBuffered, src, length);
    else listen(src);
  });
}

function listen(src: Readable): void {
  src.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
}

function takeBuffered(src: Reading, length: number): void {
  const r = src[kRead];
  if (r === undefined) return;
  if (src.destroyed) {
    // (its 'close' may already have been emitted: not waited for)
    src[kRead] = undefined;
    r.reject(aborted());
    return;
  }
  if (src.readableLength === length) {
    const body = src.read() as Buffer | null;
    if (body !== null && body.length === length) {
      src[kRead] = undefined;
      r.resolve(body);
      return;
    }
    // (not expected: read() hands over the whole buffer of a byte stream) what was taken is kept
    if (body !== null) {
      r.n = body.length;
      r.parts.push(body);
    }
  }
  listen(src);
}

function finish(src: Reading): BodyRead | undefined {
  const r = src[kRead];
  if (r === undefined) return undefined;
  src[kRead] = undefined;
  src.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
  return r;
}

function onData(this: Reading, c: Uint8Array): void {
  const r = this[kRead];
  if (r === undefined) return;
  r.n += c.length;
  if (r.n > r.limit) {
    this.pause();
    finish(this);
    r.reject(r.tooLarge());
    return;
  }
  r.parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length));
}

function onEnd(this: Reading): void {
  const r = finish(this);
  if (r) r.resolve(r.parts.length === 1 ? r.parts[0]! : Buffer.concat(r.parts, r.n));
}

function onError(this: Reading, e: unknown): void {
  finish(this)?.reject(e instanceof Error ? e : new Error(String(e)));
}

function onClose(this: Reading): void {
  finish(this)?.reject(aborted());
}

/** The error of a body whose stream closed before its end (the client went away). */
function aborted(): Error {
  return Object.assign(new Error('request body aborted'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
