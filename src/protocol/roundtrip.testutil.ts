/**
 * Round-trip harness: an AWS SDK v3 client whose `requestHandler` captures the signed HttpRequest instead of sending
 * it and answers with whatever the test serialized. For every operation of a service:
 *  (a) a model-generated input → SDK → wire → parseQueryRequest → must deep-equal the command input;
 *  (b) a model-generated output → serializeQueryResponse → SDK → must deep-equal the sample;
 *  (c) errors → serializeQueryError → SDK must surface the right error name, status, message and request id.
 */
import { Readable } from 'node:stream';
import { isDeepStrictEqual, inspect } from 'node:util';
import * as EC2 from '@aws-sdk/client-ec2';
import * as IAM from '@aws-sdk/client-iam';
import * as STS from '@aws-sdk/client-sts';
import { AwsError } from '../shared/index.js';
import { loadModel } from './model.js';
import { parseQueryRequest, serializeQueryError, serializeQueryResponse, unsupportedOperation, modelledError, EC2_ERRORS, ec2Error, type QueryService, type WireResponse } from './index.js';
import { SampleGenerator, normalize } from './samples.testutil.js';

type AnyClient = { send(cmd: unknown): Promise<Record<string, unknown>> };
type CommandCtor = new (input: unknown) => { input: unknown };

const SDK: Record<QueryService, { mod: Record<string, unknown>; Client: new (cfg: unknown) => AnyClient }> = {
  ec2: { mod: EC2 as unknown as Record<string, unknown>, Client: EC2.EC2Client as unknown as new (cfg: unknown) => AnyClient },
  iam: { mod: IAM as unknown as Record<string, unknown>, Client: IAM.IAMClient as unknown as new (cfg: unknown) => AnyClient },
  sts: { mod: STS as unknown as Record<string, unknown>, Client: STS.STSClient as unknown as new (cfg: unknown) => AnyClient },
};

interface Captured {
  method: string;
  body: string;
  query: Record<string, string | string[] | null>;
}

export class Harness {
  readonly client: AnyClient;
  captured: Captured | undefined;
  respond: () => WireResponse = () => ({ status: 500, headers: {}, body: '' });

  constructor(readonly service: QueryService) {
    const requestHandler = {
      handle: async (req: { method: string; body?: unknown; query?: Record<string, string | string[] | null> }) => {
        this.captured = { method: req.method, body: typeof req.body === 'string' ? req.body : Buffer.from((req.body as Uint8Array | undefined) ?? []).toString('utf8'), query: req.query ?? {} };
        const r = this.respond();
        // as on a real socket: header names arrive lower-cased
        const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
        return { response: { statusCode: r.status, headers, body: Readable.from([Buffer.from(r.body, 'utf8')]) } };
      },
    };
    this.client = new SDK[service].Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler,
    });
  }

  command(op: string, input: unknown): { input: unknown } | undefined {
    const C = SDK[this.service].mod[`${op}Command`] as CommandCtor | undefined;
    return C ? new C(input) : undefined;
  }

  /** Sends and returns the captured request as URLSearchParams (query string + form body merged). */
  params(): URLSearchParams {
    const p = new URLSearchParams(this.captured?.body ?? '');
    for (const [k, v] of Object.entries(this.captured?.query ?? {})) for (const x of Array.isArray(v) ? v : [v ?? '']) p.append(k, x);
    return p;
  }
}

export interface Failure {
  op: string;
  what: string;
  detail: string;
}

function diff(a: unknown, b: unknown): string {
  return `expected ${inspect(a, { depth: 8, breakLength: 160 })}\n     got ${inspect(b, { depth: 8, breakLength: 160 })}`.slice(0, 3000);
}

/** Members of shape `policyDocumentType` reach SDK users URL-encoded (botocore decodes them; the JS SDK does not). */
function decodePolicyDocs(service: QueryService, shapeName: string, v: unknown): unknown {
  if (service !== 'iam' || v === undefined || v === null) return v;
  const model = loadModel(service);
  const s = model.shape(shapeName);
  if (s.type === 'string' && shapeName === 'policyDocumentType' && typeof v === 'string') return decodeURIComponent(v);
  if (s.type === 'structure' && typeof v === 'object') {
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const m of model.members(shapeName)) if (m.name in out) out[m.name] = decodePolicyDocs(service, m.shape, out[m.name]);
    return out;
  }
  if (s.type === 'list' && Array.isArray(v)) return v.map((x) => decodePolicyDocs(service, s.member!.shape, x));
  return v;
}

/** (a) + (b) for every operation of the service. */
export async function roundTripAll(service: QueryService): Promise<{ failures: Failure[]; ops: number }> {
  const h = new Harness(service);
  const model = loadModel(service);
  const inputs = new SampleGenerator(service);
  const outputs = new SampleGenerator(service, { date: new Date(Date.UTC(2025, 11, 31, 23, 59, 58, 0)) });
  const failures: Failure[] = [];
  const ops = model.operationNames();
  for (const op of ops) {
    const def = model.operation(op)!;
    const input = def.input ? (inputs.value(def.input.shape) as Record<string, unknown>) : {};
    const output = def.output ? (outputs.value(def.output.shape) as Record<string, unknown>) : undefined;
    const cmd = h.command(op, structuredClone(input));
    if (!cmd) {
      failures.push({ op, what: 'sdk', detail: 'the SDK has no command for this operation' });
      continue;
    }
    h.respond = () => serializeQueryResponse(service, op, output, `req-${op}`);
    let result: Record<string, unknown>;
    try {
      result = await h.client.send(cmd);
    } catch (e) {
      failures.push({ op, what: 'send', detail: String((e as Error).stack ?? e).slice(0, 1500) });
      continue;
    }
    // (a) request
    try {
      const parsed = parseQueryRequest(service, h.params());
      if (parsed.operation !== op) failures.push({ op, what: 'request', detail: `operation ${parsed.operation}` });
      const expected = normalize(cmd.input);
      const got = normalize(parsed.input);
      if (!isDeepStrictEqual(expected, got)) failures.push({ op, what: 'request', detail: diff(expected, got) });
    } catch (e) {
      failures.push({ op, what: 'request', detail: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 1500) });
    }
    // (b) response
    const { $metadata, ...rest } = result as { $metadata: { requestId?: string } };
    if ($metadata.requestId !== `req-${op}`) failures.push({ op, what: 'response', detail: `requestId ${$metadata.requestId}` });
    const expected = normalize(output ?? {});
    const got = normalize(def.output ? decodePolicyDocs(service, def.output.shape, rest) : rest);
    if (!isDeepStrictEqual(expected, got)) failures.push({ op, what: 'response', detail: diff(expected, got) });
  }
  return { failures, ops: ops.length };
}

/** The error cases (c) for one operation: each → [AwsError, expected SDK error name]. */
export function errorCases(service: QueryService, op: string): [AwsError, string][] {
  const model = loadModel(service);
  const cases: [AwsError, string][] = [];
  if (service === 'ec2') {
    cases.push([new AwsError('InvalidParameterValue', `bad value for ${op} <&>`), 'InvalidParameterValue']);
    cases.push([new AwsError('Server.InternalError', 'boom', { status: 500 }), 'Server.InternalError']);
    // the whole EC2 error catalogue, once
    if (op === 'DescribeInstances') for (const code of Object.keys(EC2_ERRORS)) cases.push([ec2Error(code, { id: 'i-1', message: 'm' }), code]);
    if (op === 'CreateFleet') cases.push([unsupportedOperation('ec2', op), 'UnsupportedOperation']);
  } else if (op === 'GetUser' || op === 'GetCallerIdentity') {
    cases.push([unsupportedOperation(service, op), 'NotImplemented']);
  }
  if (service !== 'ec2') {
    // by exception shape name through modelledError (status and fault from the model)
    for (const e of model.operation(op)?.errors ?? []) cases.push([modelledError(service, e.shape, `modelled ${e.shape} & <x>`), e.shape]);
    cases.push([new AwsError('ValidationError', "1 validation error detected: Value null at 'x' failed to satisfy constraint: Member must not be null"), 'ValidationError']);
  }
  return cases;
}

/** (c) for every operation of the service. */
export async function errorsAll(service: QueryService): Promise<{ failures: Failure[]; cases: number }> {
  const h = new Harness(service);
  const model = loadModel(service);
  const inputs = new SampleGenerator(service);
  const failures: Failure[] = [];
  let n = 0;
  for (const op of model.operationNames()) {
    const def = model.operation(op)!;
    const input = def.input ? inputs.value(def.input.shape) : {};
    for (const [err, name] of errorCases(service, op)) {
      n++;
      const cmd = h.command(op, structuredClone(input));
      if (!cmd) continue;
      h.respond = () => serializeQueryError(service, err, `err-${op}`);
      try {
        await h.client.send(cmd);
        failures.push({ op, what: 'error', detail: `${err.code}: the SDK did not throw` });
      } catch (e) {
        const x = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string }; $fault?: string; Code?: string };
        const problems: string[] = [];
        if (x.name !== name) problems.push(`name ${x.name} != ${name}`);
        if (x.message !== err.message) problems.push(`message ${JSON.stringify(x.message)} != ${JSON.stringify(err.message)}`);
        if (x.$metadata?.httpStatusCode !== err.status) problems.push(`status ${x.$metadata?.httpStatusCode} != ${err.status}`);
        if (x.$metadata?.requestId !== `err-${op}`) problems.push(`requestId ${x.$metadata?.requestId}`);
        const fault = err.fault === 'Sender' ? 'client' : 'server';
        if (x.$fault !== fault) problems.push(`$fault ${x.$fault} != ${fault}`);
        if (problems.length) failures.push({ op, what: `error ${err.code}`, detail: problems.join('; ') });
      }
    }
  }
  return { failures, cases: n };
}

/** A readable summary of failures for assertion messages. */
export function report(failures: Failure[], max = 15): string {
  const byWhat = new Map<string, number>();
  for (const f of failures) byWhat.set(f.what, (byWhat.get(f.what) ?? 0) + 1);
  const head = [...byWhat].map(([w, c]) => `${w}: ${c}`).join(', ');
  return `${failures.length} failures (${head})\n${failures.slice(0, max).map((f) => `- ${f.op} [${f.what}] ${f.detail}`).join('\n')}`;
}
