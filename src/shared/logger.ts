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

export function createLogger(name: string, level = process.env.EUCA_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
