// test-all: database-independent (a node:http server and raw sockets on loopback; no cloud, no database)
/**
 * readSmallBody against a real node:http server, fed by a raw socket so that the test decides how the request's bytes
 * arrive: with the headers in one write, after them, in pieces, too many, or never.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSmallBody } from './body.js';

class TooLarge extends Error {}

/** A server whose handler reads each body with `read` and answers what it got (or the error's name). */
async function withServer(read: (req: IncomingMessage) => Promise<Buffer>, f: (port: number, outcomes: string[], flowing: Array<boolean | null>) => Promise<void>): Promise<void> {
  const outcomes: string[] = [];
  const flowing: Array<boolean | null> = [];
  const server = createServer((req, res) => {
    read(req).then((b) => {
      outcomes.push(`body:${b.toString('utf8')}`);
      flowing.push(req.readableFlowing);
      res.end(`got ${b.length}`);
    }, (e: unknown) => {
      const err = e as { code?: string };
      outcomes.push(e instanceof TooLarge ? 'too-large' : `error:${err.code ?? String(e)}`);
      if (!res.headersSent && !res.destroyed) res.writeHead(413, { connection: 'close' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await f((server.address() as AddressInfo).port, outcomes, flowing);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Sends `pieces` on one connection (a pause between them) and returns everything the server answered. */
async function send(port: number, pieces: string[], opts: { abortAfter?: boolean } = {}): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  let answer = '';
  sock.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  for (const [i, p] of pieces.entries()) {
    if (i > 0) await sleep(30);
    sock.write(p);
  }
  if (opts.abortAfter) {
    await sleep(30);
    sock.destroy();
    return answer;
  }
  await sleep(100);
  sock.end();
  await closed;
  return answer;
}

const head = (n: number, extra = '') => `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${n}\r\n${extra}\r\n`;

for (const withLength of [true, false]) {
  const read = (req: IncomingMessage) => {
    const n = Number(req.headers['content-length']);
    return readSmallBody(req, 64, () => new TooLarge(), withLength ? n : undefined);
  };
  const label = withLength ? 'with the Content-Length' : 'without it';

  test(`readSmallBody ${label}: a body in the headers' write, after them, in pieces; two requests on one connection`, async () => {
    await withServer(read, async (port, outcomes, flowing) => {
      assert.match(await send(port, [head(12) + 'Action=X&Y=1']), /got 12/);
      // with its length, a body that came with the headers is taken from the buffer: the stream never flowed
      assert.deepEqual(flowing, [withLength ? null : true]);
      assert.match(await send(port, [head(12), 'Action=X&Y=1']), /got 12/);
      assert.match(await send(port, [head(12) + 'Act', 'ion=', 'X&Y=1']), /got 12/);
      const two = await send(port, [head(3) + 'abc' + head(4) + 'defg']);
      assert.match(two, /got 3[\s\S]*got 4/);
      assert.deepEqual(outcomes, ['body:Action=X&Y=1', 'body:Action=X&Y=1', 'body:Action=X&Y=1', 'body:abc', 'body:defg']);
    });
  });

  test(`readSmallBody ${label}: more than the limit is refused; a client gone before its body is an error, not a hang`, async () => {
    await withServer(read, async (port, outcomes) => {
      // a declared length over the limit is refused by its data (the caller may check the header first, as the gateway does)
      assert.match(await send(port, [head(100) + 'x'.repeat(100)]), /413/);
      await send(port, [head(12) + 'Action'], { abortAfter: true });
      await send(port, [head(12)], { abortAfter: true });
      for (let i = 0; i < 50 && outcomes.length < 3; i++) await sleep(20);
      // (node reports a connection reset while the body is awaited as an 'error' on the request, ECONNRESET)
      assert.equal(outcomes.length, 3, outcomes.join(', '));
      assert.equal(outcomes[0], 'too-large');
      for (const o of outcomes.slice(1)) assert.match(o, /^error:(ECONNRESET|ERR_STREAM_PREMATURE_CLOSE)$/);
    });
  });
}
