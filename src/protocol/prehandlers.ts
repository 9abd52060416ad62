/**
 * @module protocol/prehandlers
 * Generic, pure steps the gateway runs around every handler:
 * - {@link dryRun}: `DryRun=true` → `DryRunOperation` (412) once the caller is authorized (721 of 765 EC2 ops).
 * - {@link idempotencyKey} / {@link checkIdempotency}: `ClientToken` idempotency. Same token + same parameters →
 *   the stored result again; same token + different parameters → `IdempotentParameterMismatch`. Storage is the
 *   caller's; these functions only compute the key and the parameter fingerprint and decide.
 */
import { createHash } from 'node:crypto';
import { AwsError } from '../shared/index.js';
import { loadModel, type ModelService } from './model.js';
import { ec2Error } from './ec2-errors.js';

/** Whether the operation's input has a `DryRun` member. */
export function takesDryRun(service: ModelService, operation: string): boolean {
  const model = loadModel(service);
  const op = model.operation(operation);
  return !!op?.input && model.members(op.input.shape).some((m) => m.name === 'DryRun');
}

/**
 * Throws `DryRunOperation` (412, "Request would have succeeded, but DryRun flag is set.") when the parsed input has
 * `DryRun: true`. Call it after authorization succeeded (an unauthorized dry run answers `UnauthorizedOperation`).
 */
export function dryRun(input: Record<string, unknown> | undefined): void {
  if (input?.DryRun === true) throw ec2Error('DryRunOperation');
}

/** The name of the idempotency-token member of an operation's input (`ClientToken`, `ClientRequestToken`, …), if any. */
export function idempotencyTokenMember(service: ModelService, operation: string): string | undefined {
  const model = loadModel(service);
  const op = model.operation(operation);
  if (!op?.input) return undefined;
  const ms = model.members(op.input.shape);
  return (ms.find((m) => m.ref.idempotencyToken === true) ?? ms.find((m) => m.name === 'ClientToken'))?.name;
}

/** An idempotency record key plus the fingerprint of the request parameters. */
export interface IdempotencyKey {
  /** Storage key: account, service and token (AWS scopes client tokens per account and region). */
  key: string;
  /** sha256 of the operation and the canonical parameters, without the token and DryRun. */
  fingerprint: string;
}

/**
 * Computes the idempotency key and parameter fingerprint of a request, or undefined when the operation has no
 * token member or the request carries no token. Include the region in `scope` for a multi-region cloud.
 */
export function idempotencyKey(service: ModelService, operation: string, input: Record<string, unknown>, accountId: string, scope = ''): IdempotencyKey | undefined {
  const member = idempotencyTokenMember(service, operation);
  if (!member) return undefined;
  const token = input[member];
  if (typeof token !== 'string' || token === '') return undefined;
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (k !== member && k !== 'DryRun') rest[k] = v;
  const fingerprint = createHash('sha256').update(operation).update('\n').update(canonicalJson(rest)).digest('hex');
  return { key: `${accountId}\n${scope}\n${service}\n${token}`, fingerprint };
}

/** A stored idempotent call. */
export interface IdempotencyRecord<R> {
  fingerprint: string;
  result: R;
}

/**
 * Decides an idempotent call given what the caller stored under the key: `{ replay: result }` when the same call was
 * already made, `{ replay: undefined }` when it is new (run it, then store `{fingerprint, result}`).
 * @throws AwsError `IdempotentParameterMismatch` when the token was used with different parameters.
 */
export function checkIdempotency<R>(stored: IdempotencyRecord<R> | undefined, current: IdempotencyKey): { replay: R | undefined } {
  if (!stored) return { replay: undefined };
  if (stored.fingerprint !== current.fingerprint) throw ec2Error('IdempotentParameterMismatch');
  return { replay: stored.result };
}

/** JSON with sorted keys; Dates as ISO strings, bytes as base64: equal inputs give equal strings. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(canon(v, 0));
}

function canon(v: unknown, depth: number): unknown {
  if (depth > 100) throw new AwsError('InvalidParameterValue', 'The request is nested too deeply');
  if (v instanceof Date) return `date:${v.toISOString()}`;
  if (v instanceof Uint8Array) return `blob:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  if (Array.isArray(v)) return v.map((x) => canon(x, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canon(x, depth + 1);
    }
    return out;
  }
  return v;
}
