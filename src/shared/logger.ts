/**
 * @module shared/logger
 * Structured logs (pino). Secrets never appear: credentials and signatures are redacted by path.
 */
import { fstatSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'secret', 'secretAccessKey', 'SecretAccessKey', 'password', 'authorization', 'headers.authorization',
  'req.headers.authorization', '*.secret', '*.secretAccessKey', '*.SecretAccessKey', '*.password', '*.sessionToken',
];

/**
 * A logger with the cloud's redaction rules at `level` (default `EUCA_LOG_LEVEL` or info):
 * - no `destination`: synchronous writes to stdout (each line one write(2): fine for commands);
 * - a stream: written to it;
 * - a file path or a file descriptor (e.g. 1 for a daemon whose stdout is its log file): lines are buffered and
 *   written asynchronously in blocks (64 KiB to a file, 8 KiB to a pipe or a terminal), so request handling never
 *   waits on the disk; what is held is written synchronously when the process exits.
 */
export function createLogger(name: string, level = process.env.EUCA_LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream | string | number): Logger {
  const opts = { name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  let logger: Logger;
  if (destination === undefined) logger = pino(opts);
  else if (typeof destination === 'string' || typeof destination === 'number') {
    // (to a pipe or a terminal, writes of at most 8 KiB: what is in flight when the process exits may be lost on a
    // full pipe; the rest is written synchronously then)
    const block = typeof destination === 'string' || isRegularFile(destination) ? 65536 : 8192;
    logger = pino(opts, new LineBatch(pino.destination({ dest: destination, sync: false, minLength: 0, maxWrite: block, contentMode: 'buffer' }), block));
  } else logger = pino(opts, destination);
  plainFormat.add(logger);
  return logger;
}

/** Whether a descriptor is a regular file (the daemon's stdout is its log file: `euca up` opens it). */
function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Loggers made here: pino's default line format (epoch `time`, no formatters or mixins). */
const plainFormat = new WeakSet<Logger>();

/**
 * An info-level writer of lines whose fields are all plain strings and numbers with fixed, non-secret keys (the
 * gateway's access log: one line per request). For a logger made by `createLogger` it writes pino's own line format
 * directly — `{"level":30,"time":…,<the logger's bindings>,<fields>,"msg":…}` — skipping pino's generic serializer and
 * redaction pass, which cost several times more than the line; for any other logger it calls `info`.
 */
export function infoLineWriter(log: Logger, msg: string): (fields: Record<string, string | number>) => void {
  if (!plainFormat.has(log)) return (fields) => log.info(fields, msg);
  const tail = `,"msg":${JSON.stringify(msg)}}\n`;
  const bindings = (log as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  const stream = (log as unknown as Record<symbol, { write(s: string): unknown }>)[pino.symbols.streamSym]!;
  return (fields) => {
    if (!log.isLevelEnabled('info')) return;
    let line = `{"level":30,"time":${Date.now()}${bindings}`;
    for (const k in fields) {
      const v = fields[k]!;
      line += `,"${k}":${typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v)}`;
    }
    stream.write(line + tail);
  };
}

type Sink = ReturnType<typeof pino.destination>;

/** Longest time a log line is held before it is handed to the file writer. */
export const LINE_DELAY_MS = 200;

/**
 * Collects log lines into a block of bytes and hands full blocks to the asynchronous file writer (sonic-boom, in its
 * buffer mode). Each line is encoded once, straight into the block; sonic-boom's string mode would measure its whole
 * pending string on every write and encode it again after every partial write. A line waits at most
 * `LINE_DELAY_MS`; what is held is handed over and written synchronously when the process exits (also after an
 * uncaught exception, which exits through 'exit'), and by `flush`/`flushSync`.
 */
export class LineBatch {
  private block: Buffer;
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: Sink, private readonly blockBytes: number) {
    this.block = Buffer.allocUnsafe(blockBytes);
    process.on('exit', () => this.flushSync());
  }

  write(line: string): boolean {
    // (a UTF-16 unit is at most 3 bytes of UTF-8: a line this long may not fit in what is left of the block)
    if (line.length * 3 > this.blockBytes - this.used) {
      this.handOver();
      if (line.length * 3 > this.blockBytes) {
        this.sink.write(Buffer.from(line, 'utf8') as unknown as string);
        return true;
      }
    }
    this.used += this.block.write(line, this.used, 'utf8');
    // one timer for whatever is held (unref'd: it never keeps the process alive; exit flushes synchronously)
    if (this.timer === undefined) this.timer = setTimeout(() => this.handOver(), LINE_DELAY_MS).unref();
    return true;
  }

  private handOver(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.used === 0) return;
    // the writer keeps the bytes until they are written: a new block for what follows
    const full = this.block.subarray(0, this.used);
    this.block = Buffer.allocUnsafe(this.blockBytes);
    this.used = 0;
    this.sink.write(full as unknown as string);
  }

  /** Hands the held lines over and calls back once everything is written. */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    this.sink.flush(cb);
  }

  /** Writes everything still held or pending, synchronously. */
  flushSync(): void {
    try {
      this.handOver();
      this.sink.flushSync();
    } catch {
      // not open yet (nothing was ever written) or already closed: nothing more can be written
    }
  }
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  const logger = pino({ level: 'silent' });
  plainFormat.add(logger);
  return logger;
}
