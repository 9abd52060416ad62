/**
 * @module api/s3/auth
 * Adapts the signature verifier (`src/auth/sigv4`) to the S3 handler: SigV4 header and presigned, SigV2 header and
 * query, anonymous requests; the body check it asks for (sha256 after streaming, aws-chunked decoding).
 */
import type { IncomingMessage } from 'node:http';
import type { CredentialStore } from '../../shared/index.js';
import { authenticate, createChunkedDecoder, isAuthError, toServiceError } from '../../auth/sigv4/index.js';
import type { S3Authenticator, S3AuthOutcome } from './handler.js';

export interface SigV4AuthOptions {
  credentials: CredentialStore;
  /** Regions a SigV4 credential scope may name; any when absent. */
  regions?: string[];
  allowSigV2?: boolean;
  now?: () => Date;
}

/** The request's headers as the verifier takes them (node's distinct-values view, built once per request; read only). */
function headersOf(req: IncomingMessage): Record<string, string[]> {
  return req.headersDistinct as Record<string, string[]>;
}

/** Iterates a decoded body, turning signature/format errors into S3 errors. */
async function* mapAuthErrors(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for await (const c of src) yield c;
  } catch (e) {
    if (isAuthError(e)) throw toServiceError('s3', e);
    throw e;
  }
}

/** The S3 authenticator over the cloud's credential store. */
export function sigv4Authenticator(opts: SigV4AuthOptions): S3Authenticator {
  return async (req, rawPath, rawQuery, virtualHostBucket) => {
    // No Authorization header and no query string: nothing to verify, an anonymous request (what `authenticate`
    // answers for it, without building the headers view)
    if (rawQuery === '' && req.headers.authorization === undefined) return { principal: null, bodyCheck: { kind: 'none' } };
    const headers = headersOf(req);
    let r;
    try {
      r = await authenticate(
        { method: req.method ?? 'GET', path: rawPath, query: rawQuery, headers, ...(virtualHostBucket !== undefined ? { virtualHostBucket } : {}) },
        { service: 's3', now: opts.now ? opts.now() : new Date(), store: opts.credentials, allowAnonymous: true, ...(opts.regions ? { regions: opts.regions } : {}), ...(opts.allowSigV2 !== undefined ? { allowSigV2: opts.allowSigV2 } : {}) },
      );
    } catch (e) {
      if (isAuthError(e)) throw toServiceError('s3', e);
      throw e;
    }
    const out: S3AuthOutcome = { principal: r.identity?.principal ?? null, bodyCheck: { kind: 'none' } };
    const p = r.payload;
    if (p.kind === 'sha256') out.bodyCheck = { kind: 'sha256', expected: p.expected };
    if (p.kind === 'aws-chunked') {
      const decoder = (() => {
        try {
          return createChunkedDecoder(r, headers);
        } catch (e) {
          if (isAuthError(e)) throw toServiceError('s3', e);
          throw e;
        }
      })();
      const declared = headers['x-amz-decoded-content-length']?.[0];
      if (declared !== undefined && /^\d+$/.test(declared)) out.decodedLength = Number(declared);
      out.decodeBody = (raw) => {
        raw.on('error', (e) => decoder.destroy(e));
        raw.pipe(decoder);
        return { stream: mapAuthErrors(decoder), trailers: () => decoder.trailers() };
      };
    }
    return out;
  };
}
