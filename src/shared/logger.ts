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
  if (destination === undefined) return pino(opts);
  if (typeof destination === 'string' || typeof destination === 'number') {
    return pino(opts, pino.destination({ dest: destination, sync: false, minLength: 4096 }));
  }
  return pino(opts, destination);
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
