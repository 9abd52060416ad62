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

/** A logger with the cloud's redaction rules, to stdout or to `destination`. */
export function createLogger(name: string, level = process.env.EUCA_LOG_LEVEL ?? 'info', destination?: NodeJS.WritableStream): Logger {
  const opts = { name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
