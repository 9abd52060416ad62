/**
 * @module shared/ids
 * Resource identifiers in AWS's shapes: `i-` + 17 hex, `vol-`, `snap-`, `emi-` (8 hex, as Eucalyptus), request ids (UUID),
 * access key ids (`AKIA` + 16 base32), secrets (40 base64), account ids (12 digits).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export function hexId(prefix: string, hexChars = 17): string {
  return `${prefix}-${randomBytes(Math.ceil(hexChars / 2)).toString('hex').slice(0, hexChars)}`;
}

export function requestId(): string {
  return randomUUID();
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function randomBase32(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += B32[bytes[i]! % 32];
  return s;
}

/** An access key id: `AKIA` for long-term keys, `ASIA` for temporary (STS) keys. */
export function accessKeyId(temporary = false): string {
  return (temporary ? 'ASIA' : 'AKIA') + randomBase32(16);
}

export function secretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'a').replace(/\//g, 'b').slice(0, 40);
}

/** A 12-digit account id, never starting with 0. */
export function accountId(): string {
  const b = randomBytes(12);
  let s = String(1 + (b[0]! % 9));
  for (let i = 1; i < 12; i++) s += String(b[i]! % 10);
  return s;
}

/** IAM unique ids: `AIDA` (user), `AROA` (role), `AGPA` (group), `ANPA` (policy), `AIPA` (instance profile) + 17 base32. */
export function iamUniqueId(prefix: 'AIDA' | 'AROA' | 'AGPA' | 'ANPA' | 'AIPA'): string {
  return prefix + randomBase32(17);
}
