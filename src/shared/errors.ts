/**
 * @module shared/errors
 * The one error shape of the cloud: an AWS error code with its HTTP status and fault side.
 * Every protocol family formats it (EC2 `Response/Errors`, query `ErrorResponse`, S3 `Error`).
 * Anything that is not an AwsError becomes `InternalError` with no internals leaked.
 */

export type Fault = 'Sender' | 'Receiver';

export interface AwsErrorOptions {
  /** HTTP status; 400 unless given. */
  status?: number;
  /** Who is at fault; Sender for 4xx, Receiver for 5xx unless given. */
  fault?: Fault;
  /** Extra fields written into the error body (S3: `<BucketName>`, `<Key>`, `<StringToSign>` ...). */
  fields?: Record<string, string>;
  /** Extra response headers. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fault: Fault;
  readonly fields: Record<string, string>;
  readonly headers: Record<string, string>;

  constructor(code: string, message: string, opts: AwsErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AwsError';
    this.code = code;
    this.status = opts.status ?? 400;
    this.fault = opts.fault ?? (this.status >= 500 ? 'Receiver' : 'Sender');
    this.fields = opts.fields ?? {};
    this.headers = opts.headers ?? {};
  }
}

export function isAwsError(e: unknown): e is AwsError {
  return e instanceof AwsError;
}

/** Turns anything thrown into an AwsError; unknown errors become a bare InternalError (log the original yourself). */
export function toAwsError(e: unknown): AwsError {
  if (e instanceof AwsError) return e;
  return new AwsError('InternalError', 'We encountered an internal error. Please try again.', { status: 500, cause: e });
}
