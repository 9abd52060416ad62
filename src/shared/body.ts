/**
 * @module shared/body
 * Reading a small request body whole, for the query APIs' gateway and Walrus's small objects.
 */
import type { Readable } from 'node:stream';

/**
 * The whole body of `src`, at most `limit` bytes, read by its events (for a body of a chunk or two that costs less
 * than an async iterator and its promises). More than `limit` bytes: rejects with `tooLarge()`, the stream paused and
 * no longer read. Closed before its end (the client went away): rejects with an `ERR_STREAM_PREMATURE_CLOSE` error.
 */
export function readSmallBody(src: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const done = (e?: unknown) => {
      src.off('data', onData).off('end', done).off('error', done).off('close', onClose);
      if (e === undefined) resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, n));
      else reject(e instanceof Error ? e : new Error(String(e)));
    };
    const onData = (c: Uint8Array) => {
      n += c.length;
      if (n > limit) {
        src.pause();
        done(tooLarge());
        return;
      }
      parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length));
    };
    const onClose = () => done(Object.assign(new Error('request body aborted'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    src.on('data', onData).once('end', done).once('error', done).once('close', onClose);
  });
}
