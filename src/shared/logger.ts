/**
 * @module shared/logger
 * Structured logs (pino). Secrets never appear: credentials and signatures are redacted by path.
 */
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
 *   written asynchronously in blocks of at least 4 KiB, so request handling never waits on the disk; pino flushes the
 *   buffer synchronously when the process exits.
 */
export function createLogger(name: string, level = process.env.EUCA_LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream | string | number): Logger {
  const opts = { name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  let logger: Logger;
  if (destination === undefined) logger = pino(opts);
  else if (typeof destination === 'string' || typeof destination === 'number') {
    // (writes of at most 8 KiB: what is in flight when the process exits may be lost on a full pipe; the rest is
    // written synchronously then)
    logger = pino(opts, new LineBatch(pino.destination({ dest: destination, sync: false, minLength: 0, maxWrite: 8192 }), 4096));
  } else logger = pino(opts, destination);
  plainFormat.add(logger);
  return logger;
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
 * Collects log lines and hands them to the asynchronous file writer (sonic-boom) in blocks of at least `minBytes`.
 * sonic-boom buffers by itself, but measures the UTF-8 length of its whole pending buffer on every write (flattening
 * the concatenated string each time), which made one access-log line cost ~1 µs per KiB already buffered; here each
 * line is measured once and a block is joined once. Lines still held are handed over and written synchronously when
 * the process exits (also after an uncaught exception, which exits through 'exit'), and by `flush`/`flushSync`.
 */
export class LineBatch {
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: Sink, private readonly minBytes: number) {
    process.on('exit', () => this.flushSync());
  }

  write(line: string): boolean {
    this.lines.push(line);
    this.bytes += line.length; // (UTF-16 units: the byte count of the ASCII lines pino writes; a threshold only)
    if (this.bytes >= this.minBytes) this.handOver();
    // one timer for whatever is held (unref'd: it never keeps the process alive; exit flushes synchronously)
    else if (this.timer === undefined) this.timer = setTimeout(() => this.handOver(), LINE_DELAY_MS).unref();
    return true;
  }

  private handOver(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    const block = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    this.sink.write(block);
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
