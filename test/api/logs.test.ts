/**
 * Structured logs carry request ids, and secrets never appear in them: not the secret keys created, not the secrets
 * used to sign (even on a failed signature), at any log level.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { IAMClient, CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startTestCloud } from '../../src/main/testing.js';
import { createLogger } from '../../src/shared/index.js';

test('logs at trace level hold request ids and no secret', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString('utf8')); cb(); } });
  const log = createLogger('test', 'trace', sink);
  const cloud = await startTestCloud({ log });
  try {
    const iam = new IAMClient(cloud.clientConfig('iam'));
    await iam.send(new CreateUserCommand({ UserName: 'logcheck' }));
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: 'logcheck' }));
    const secret = k.AccessKey!.SecretAccessKey!;
    await new STSClient(cloud.clientConfig('sts', { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: secret })).send(new GetCallerIdentityCommand({}));
    const wrong = 'W'.repeat(40);
    await assert.rejects(new STSClient(cloud.clientConfig('sts', { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: wrong })).send(new GetCallerIdentityCommand({})));
    const all = lines.join('');
    assert.ok(lines.length >= 4, 'one line per request at least');
    const reqLines = lines.map((l) => JSON.parse(l) as { msg?: string; requestId?: string; op?: string }).filter((l) => l.msg === 'request');
    assert.ok(reqLines.length >= 4 && reqLines.every((l) => typeof l.requestId === 'string' && l.requestId.length > 0));
    assert.ok(reqLines.some((l) => l.op === 'CreateAccessKey'));
    for (const s of [secret, cloud.admin.secretAccessKey, wrong]) assert.ok(!all.includes(s), 'a secret appeared in the logs');
  } finally {
    await cloud.stop();
  }
});

test('a log file gets every line, in order, when the process exits right after logging or on an uncaught exception', async () => {
  const { execFile } = await import('node:child_process');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'euca-logfile-'));
  const logger = new URL('../../src/shared/index.ts', import.meta.url).href;
  try {
    // a file path and a file's descriptor (64 KiB blocks); one line longer than a block
    for (const [ending, dest] of [['process.exit(3)', 'path'], ['throw new Error("boom")', 'path'], ['process.exit(3)', 'fd'], ['throw new Error("boom")', 'fd']] as const) {
      const file = join(dir, `${ending.length}-${dest}.log`);
      const target = dest === 'path' ? JSON.stringify(file) : `(await import('node:fs')).openSync(${JSON.stringify(file)}, 'a')`;
      // enough lines for several blocks, the last one partial; the file opens asynchronously, so wait for it first
      const script = `import { createLogger } from ${JSON.stringify(logger)};
        const log = createLogger('t', 'info', ${target});
        log.info('first'); await new Promise((r) => setTimeout(r, 200));
        for (let i = 0; i < 5000; i++) log.info({ i }, i === 2500 ? 'x'.repeat(100000) : 'line');
        ${ending};`;
      const code = await new Promise<number | null>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], (err) => resolve(err ? (err as { code?: number }).code ?? null : 0));
      });
      assert.notEqual(code, 0);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; i?: number });
      const label = `${ending}, ${dest}`;
      assert.equal(lines.length, 5001, label);
      assert.deepEqual(lines.slice(1).map((l) => l.i), [...Array(5000).keys()], label);
      assert.equal(lines[2501]!.msg.length, 100000, label);
    }
    // a pipe (the daemon's stdout read by another program: 8 KiB blocks), at a normal end
    const script = `import { createLogger } from ${JSON.stringify(logger)};
      const log = createLogger('t', 'info', 1);
      for (let i = 0; i < 5000; i++) log.info({ i }, i === 2500 ? 'x'.repeat(100000) : 'line');`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { maxBuffer: 64 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const piped = out.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; i?: number });
    assert.deepEqual(piped.map((l) => l.i), [...Array(5000).keys()], 'pipe');
    assert.equal(piped[2500]!.msg.length, 100000, 'pipe');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a line logged to a file reaches it soon in a quiet process, without an exit or a flush', async () => {
  const { mkdtempSync, readFileSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'euca-logquiet-'));
  try {
    const file = join(dir, 'quiet.log');
    const log = createLogger('t', 'info', file);
    log.error({ code: 7 }, 'the only line');
    // far less than the 4 KiB block the writer waits for otherwise: only the delay bound hands it over
    let text = '';
    for (let i = 0; i < 100 && !text.includes('the only line'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    }
    const line = JSON.parse(text.trim()) as { msg: string; code: number };
    assert.equal(line.msg, 'the only line');
    assert.equal(line.code, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('infoLineWriter writes the very line pino would, for a logger of ours; calls info for any other', async () => {
  const { infoLineWriter } = await import('../../src/shared/index.js');
  const { pino } = await import('pino');
  const capture = () => {
    const lines: string[] = [];
    return { lines, sink: new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString('utf8')); cb(); } }) };
  };
  const fields = { requestId: 'r-1', service: 'ec2', op: 'Describe"Odd\\\n\u2028Action', status: 200, ms: 1.25, bad: NaN };
  const ours = capture();
  const log = createLogger('euca', 'info', ours.sink);
  infoLineWriter(log, 'request')(fields);
  log.info(fields, 'request');
  await new Promise((r) => setImmediate(r));
  assert.equal(ours.lines.length, 2);
  const [fast, viaPino] = ours.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(Math.abs((fast!.time as number) - (viaPino!.time as number)) < 1000);
  assert.deepEqual({ ...fast, time: 0 }, { ...viaPino, time: 0 }, 'same fields, bindings, level and message');
  assert.equal(fast!.op, fields.op, 'a string is escaped and comes back exactly');
  assert.equal(fast!.bad, null);
  // below its level, nothing is written
  const quiet = capture();
  infoLineWriter(createLogger('euca', 'warn', quiet.sink), 'request')(fields);
  // another logger (another format, say) gets a plain info call
  const other = capture();
  infoLineWriter(pino({ name: 'x', timestamp: pino.stdTimeFunctions.isoTime }, other.sink), 'request')(fields);
  await new Promise((r) => setImmediate(r));
  assert.equal(quiet.lines.length, 0);
  assert.equal(other.lines.length, 1);
  assert.match(other.lines[0]!, /"time":"\d{4}-/);
});
