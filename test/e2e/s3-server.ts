/**
 * A Walrus process for crash tests and benchmarks: `node --import tsx test/e2e/s3-server.ts`.
 * Env: WALRUS_DIR (blobs), WALRUS_DB (SQLite file), WALRUS_KEYS (JSON [{accessKeyId, secretAccessKey, accountId}]),
 * WALRUS_PORT (default 0), WALRUS_INLINE_UP_TO (see WalrusServiceOptions.inlineUpTo). Prints one JSON line `{"port":…, "recovered":{…}, "pid":…}` once it serves.
 */
import { openDatabase, migrate } from '../../src/db/index.js';
import { walrusMigrations, type WalrusTables } from '../../src/walrus/index.js';
import { openWalrusService } from '../../src/api/s3/index.js';
import { MemoryCredentials } from './s3-helpers.js';

const dir = process.env.WALRUS_DIR!;
const dbFile = process.env.WALRUS_DB!;
const keys = JSON.parse(process.env.WALRUS_KEYS ?? '[]') as { accessKeyId: string; secretAccessKey: string; accountId: string }[];
const creds = new MemoryCredentials();
for (const k of keys) {
  creds.keys.set(k.accessKeyId, {
    accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey,
    principal: { kind: 'user', accountId: k.accountId, userId: `AIDA${k.accountId}`, userName: 'admin', arn: `arn:aws:iam::${k.accountId}:user/admin`, isCloudAdmin: false, isAccountAdmin: true, accessKeyId: k.accessKeyId },
  });
}
const db = await openDatabase<WalrusTables>({ kind: 'sqlite', file: dbFile });
await migrate(db, walrusMigrations);
const svc = await openWalrusService({
  db: db.db, dir, credentials: creds, region: 'eucalyptus', lifecycleIntervalMs: 0,
  ...(process.env.WALRUS_INLINE_UP_TO !== undefined ? { inlineUpTo: Number(process.env.WALRUS_INLINE_UP_TO) } : {}),
});
const { port } = await svc.listen(Number(process.env.WALRUS_PORT ?? 0));
process.stdout.write(`${JSON.stringify({ port, recovered: svc.recovered, pid: process.pid })}\n`);
process.on('SIGTERM', () => process.exit(0));
