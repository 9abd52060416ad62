/**
 * Cross-check with botocore (Python) as a second oracle, for every EC2, IAM and STS operation: botocore serializes
 * the model-generated input (our parser must give it back) and parses our serialized output (must equal the sample).
 * botocore runs on OUR vendored model JSON, so the pyenv botocore 1.43.11 and Debian's python3-botocore 1.29 check
 * the same shapes. Skipped, with the reason printed, only when neither Python has botocore.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, inspect } from 'node:util';
import { findModelsDir, loadModel } from './model.js';
import { parseQueryRequest, serializeQueryResponse, type QueryService } from './index.js';
import { SampleGenerator, normalize } from './samples.testutil.js';

const ORACLE = fileURLToPath(new URL('./botocore-oracle.py', import.meta.url));

/** Every Python with botocore: the pyenv one (1.43.11) and Debian's (python3-botocore 1.29). */
function findPythons(): string[] {
  const found: string[] = [];
  for (const py of ['/root/.pyenv/shims/python3', '/usr/bin/python3']) {
    if (!existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import botocore, sys; sys.stdout.write(botocore.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) found.push(py);
  }
  return found;
}

const pythons = findPythons();

function decodePolicyDocs(service: QueryService, shapeName: string, v: unknown): unknown {
  if (service !== 'iam' || v === undefined || v === null) return v;
  const model = loadModel(service);
  const s = model.shape(shapeName);
  if (shapeName === 'policyDocumentType' && typeof v === 'string') return decodeURIComponent(v);
  if (s.type === 'structure' && typeof v === 'object') {
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const m of model.members(shapeName)) if (m.name in out) out[m.name] = decodePolicyDocs(service, m.shape, out[m.name]);
    return out;
  }
  if (s.type === 'list' && Array.isArray(v)) return v.map((x) => decodePolicyDocs(service, s.member!.shape, x));
  return v;
}

if (pythons.length === 0) test('botocore cross-check', { skip: 'no python3 with botocore (/root/.pyenv/shims/python3 or /usr/bin/python3)' }, () => {});
for (const python of pythons)
for (const service of ['ec2', 'iam', 'sts'] as const) {
  test(`${service}: botocore (${python}) serializes what we parse and parses what we serialize, every operation`, () => {
    const model = loadModel(service);
    const inputs = new SampleGenerator(service);
    const outputs = new SampleGenerator(service, { date: new Date(Date.UTC(2025, 11, 31, 23, 59, 58, 0)) });
    const cases = model.operationNames().map((op) => {
      const def = model.operation(op)!;
      const input = def.input ? inputs.value(def.input.shape) : {};
      const output = def.output ? outputs.value(def.output.shape) : undefined;
      return { op, input, output, xml: serializeQueryResponse(service, op, output, `rid-${op}`).body };
    });
    const payload = JSON.stringify({ service, model: join(findModelsDir(), `${service}.json`), cases: cases.map((c) => ({ op: c.op, input: normalize(c.input), xml: c.xml })) });
    const r = spawnSync(python, [ORACLE], { input: payload, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { version: string; results: Record<string, { body?: string; parsed?: unknown; error?: string }> };
    const failures: string[] = [];
    for (const c of cases) {
      const res = out.results[c.op];
      if (!res || res.error !== undefined) {
        failures.push(`${c.op}: botocore error ${res?.error}`);
        continue;
      }
      try {
        const parsed = parseQueryRequest(service, new URLSearchParams(res.body ?? ''));
        if (!isDeepStrictEqual(normalize(parsed.input), normalize(c.input))) failures.push(`${c.op} request: ${inspect(normalize(parsed.input), { depth: 6 })}`.slice(0, 2000));
      } catch (e) {
        failures.push(`${c.op} request: ${(e as Error).message}`);
      }
      const def = model.operation(c.op)!;
      const got = def.output ? decodePolicyDocs(service, def.output.shape, res.parsed) : res.parsed;
      if (!isDeepStrictEqual(got, normalize(c.output ?? {}))) failures.push(`${c.op} response: ${inspect(got, { depth: 6 })}`.slice(0, 2000));
    }
    assert.equal(failures.length, 0, `botocore ${out.version} (${python}): ${failures.length} failures\n${failures.slice(0, 10).join('\n')}`);
  });
}
