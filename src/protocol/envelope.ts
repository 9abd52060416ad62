/**
 * @module protocol/envelope
 * Success and error envelopes of the `ec2` and `query` protocols, and the "operation not supported" error.
 *
 * - EC2 success: `<OpResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>…</requestId>members…</OpResponse>`
 * - query success: `<OpResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><OpResult>members…</OpResult>
 *   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></OpResponse>`
 * - EC2 error: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`
 * - query error: `<ErrorResponse xmlns=…><Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`
 */
import { AwsError } from '../shared/index.js';
import { loadModel, type ModelService } from './model.js';
import type { QueryService } from './query.js';
import { escapeXml, writeShapeXml } from './xml.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** The wire form of a response. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function headers(requestId: string, extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-RequestId': requestId };
  if (extra) Object.assign(h, extra);
  return h;
}

/** Whether the service model has the operation (`s3` included, for the S3 router). */
export function hasOperation(service: QueryService | 's3', operation: string): boolean {
  return loadModel(service as ModelService).operation(operation) !== undefined;
}

/**
 * The service's error for a modelled operation that this cloud does not implement.
 * - EC2: `UnsupportedOperation` (400), the code AWS EC2 itself uses for actions a region/account does not support.
 * - IAM, STS: `NotImplemented` (501, Receiver). AWS has no query-protocol code for "modelled but not here";
 *   `InvalidAction` would claim the action does not exist, and LocalStack answers 501 too. SDKs surface it as an
 *   error named `NotImplemented` and do not retry it (501 is not a transient status).
 */
export function unsupportedOperation(service: QueryService, operation: string): AwsError {
  const op = operation.length > 128 ? `${operation.slice(0, 128)}...` : operation;
  if (service === 'ec2') return new AwsError('UnsupportedOperation', `The operation ${op} is not supported by this cloud.`);
  return new AwsError('NotImplemented', `The operation ${op} is not implemented by this cloud.`, { status: 501, fault: 'Receiver' });
}

const CONTENT_ONLY = { contentOnly: true } as const;

/**
 * Serializes a handler's output for the wire. `output` is a plain object keyed by the output shape's member names
 * (`undefined`/`null` members are skipped; timestamps may be Date, ISO string or epoch ms). IAM policy documents
 * (`policyDocumentType`) are URL-encoded as IAM does.
 * @returns status 200, `content-type: text/xml` and `x-amzn-RequestId` headers, and the XML body.
 */
export function serializeQueryResponse(service: QueryService, operation: string, output: unknown, requestId: string): WireResponse {
  const model = loadModel(service);
  const op = model.operation(operation);
  if (!op) throw new Error(`protocol: ${service} has no operation ${operation}`);
  const ns = model.xmlNamespace;
  const rid = escapeXml(requestId);
  let body = `${DECL}<${operation}Response xmlns="${ns}">`;
  if (service === 'ec2') {
    body += `<requestId>${rid}</requestId>`;
    body += op.output ? writeShapeXml(service, op.output.shape, output ?? {}, CONTENT_ONLY) : '<return>true</return>';
  } else {
    if (op.output) {
      const wrapper = op.output.resultWrapper ?? `${operation}Result`;
      body += `<${wrapper}>${writeShapeXml(service, op.output.shape, output ?? {}, CONTENT_ONLY)}</${wrapper}>`;
    }
    body += `<ResponseMetadata><RequestId>${rid}</RequestId></ResponseMetadata>`;
  }
  body += `</${operation}Response>`;
  return { status: op.http.responseCode ?? 200, headers: headers(requestId), body };
}

/**
 * Serializes an AwsError in the service's envelope (see the module doc). Extra `fields` of the error are written
 * inside `<Error>`; its `headers` are added; the status is the error's.
 */
export function serializeQueryError(service: QueryService, err: AwsError, requestId: string): WireResponse {
  const rid = escapeXml(requestId);
  const extra = Object.entries(err.fields)
    .filter(([k]) => /^[A-Za-z_][\w.-]*$/.test(k) && !['Code', 'Message', 'Type'].includes(k))
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  const code = escapeXml(err.code);
  const msg = escapeXml(err.message);
  let body: string;
  if (service === 'ec2') {
    body = `${DECL}<Response><Errors><Error><Code>${code}</Code><Message>${msg}</Message>${extra}</Error></Errors><RequestID>${rid}</RequestID></Response>`;
  } else {
    const ns = loadModel(service).xmlNamespace;
    body = `${DECL}<ErrorResponse xmlns="${ns}"><Error><Type>${err.fault}</Type><Code>${code}</Code><Message>${msg}</Message>${extra}</Error><RequestId>${rid}</RequestId></ErrorResponse>`;
  }
  return { status: err.status, headers: headers(requestId, err.headers), body };
}

/**
 * An error of the service's model with its modelled status and fault: the code may be the wire code or the
 * exception shape name (`modelledError('iam', 'NoSuchEntity', …)` and `…'NoSuchEntityException'…` both give
 * `NoSuchEntity`, 404, Sender). Codes the model does not know get 400 (or `fallbackStatus`).
 */
export function modelledError(service: QueryService | 's3', code: string, message: string, fallbackStatus = 400): AwsError {
  const model = loadModel(service as ModelService);
  let shape = model.hasShape(code) && model.shape(code).exception ? model.shape(code) : undefined;
  if (!shape) {
    for (const s of Object.values(model.raw.shapes)) {
      if (s.exception && s.error?.code === code) {
        shape = s;
        break;
      }
    }
  }
  const wire = shape?.error?.code ?? code;
  const status = shape?.error?.httpStatusCode ?? fallbackStatus;
  return new AwsError(wire, message, { status, ...(shape?.error?.senderFault ? { fault: 'Sender' as const } : {}) });
}
