/**
 * @module api/s3/service
 * Walrus as a running service: opens the blob store, recovers from a crash (temp sweep, orphan blobs), builds the
 * S3 handler, runs lifecycle rules on a timer, and optionally listens on its own port.
 */
import { createServer, type Server } from 'node:http';
import type { Kysely } from 'kysely';
import { silentLogger, type CredentialStore, type Logger } from '../../shared/index.js';
import { FsBlobStore, Walrus, type WalrusTables } from '../../walrus/index.js';
import { createS3Handler, type S3RequestListener, type S3HandlerDeps } from './handler.js';
import { sigv4Authenticator } from './auth.js';
import type { IdentityPolicies } from './authz.js';

export interface WalrusServiceOptions {
  /** A migrated database (walrusMigrations applied). */
  db: Kysely<WalrusTables>;
  /** Walrus's directory: blobs and temporary files live under it. */
  dir: string;
  credentials: CredentialStore;
  region: string;
  /** Virtual-host style domain (`<bucket>.<s3Domain>`). */
  s3Domain?: string;
  /** Path prefix ('' on Walrus's own port, '/services/objectstorage' in the CLC gateway). */
  prefix?: string;
  identityPolicies?: IdentityPolicies;
  /** Quota check before creations (see S3HandlerDeps.quota). */
  quota?: S3HandlerDeps['quota'];
  log?: Logger;
  /** How often lifecycle rules run (default hourly; 0 disables the timer). */
  lifecycleIntervalMs?: number;
  /** Smallest non-last multipart part (default 5 MiB). */
  minPartSize?: number;
  /** Objects up to this many bytes go into shared pack files with group commit (default 64 KiB; 0 = one file each). */
  packUpTo?: number;
  /** PutObject bodies up to this many bytes are stored in the database with their row (default 64 KiB; 0 = never). */
  inlineUpTo?: number;
  allowSigV2?: boolean;
  /** How often unreferenced blob and pack files are removed (default 15 min). */
  gcIntervalMs?: number;
}

export interface WalrusService {
  walrus: Walrus;
  handler: S3RequestListener;
  /** What the startup sweep removed. */
  recovered: { tempFiles: number; orphanBlobs: number };
  /** Listens on host:port (port 0 = any); resolves with the bound port. */
  listen(port: number, host?: string): Promise<{ server: Server; port: number }>;
  close(): Promise<void>;
}

/** Opens Walrus: run it before serving (the startup sweep must finish before the first request). */
export async function openWalrusService(o: WalrusServiceOptions): Promise<WalrusService> {
  const log = o.log ?? silentLogger();
  const blobs = await FsBlobStore.create(o.dir);
  const walrus = new Walrus(o.db, blobs, { packUpTo: o.packUpTo ?? 64 * 1024, inlineUpTo: o.inlineUpTo ?? 64 * 1024, ...(o.minPartSize !== undefined ? { minPartSize: o.minPartSize } : {}) });
  const recovered = await walrus.recover();
  if (recovered.tempFiles || recovered.orphanBlobs) log.info(recovered, 'walrus startup sweep');
  const handler = createS3Handler({
    walrus, region: o.region, log, credentials: o.credentials,
    authenticate: sigv4Authenticator({ credentials: o.credentials, ...(o.allowSigV2 !== undefined ? { allowSigV2: o.allowSigV2 } : {}) }),
    ...(o.identityPolicies ? { identityPolicies: o.identityPolicies } : {}),
    ...(o.quota ? { quota: o.quota } : {}),
    ...(o.s3Domain ? { s3Domain: o.s3Domain } : {}),
    ...(o.prefix ? { prefix: o.prefix } : {}),
  });
  const interval = o.lifecycleIntervalMs ?? 3_600_000;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  if (interval > 0) {
    timer = setInterval(() => {
      if (running) return;
      running = true;
      walrus.runLifecycle().then((n) => { if (n) log.info({ removed: n }, 'lifecycle run'); }, (e: unknown) => log.error({ err: e }, 'lifecycle run failed'))
        .finally(() => { running = false; });
    }, interval);
    timer.unref();
  }
  // give back the space of deleted packed small objects
  const gcTimer = setInterval(() => {
    walrus.collectGarbage().then((n) => { if (n) log.info({ removed: n }, 'walrus blob garbage collected'); }, (e: unknown) => log.error({ err: e }, 'walrus gc failed'));
  }, o.gcIntervalMs ?? 15 * 60_000);
  gcTimer.unref();
  const servers: Server[] = [];
  return {
    walrus, handler, recovered,
    listen: (port, host = '127.0.0.1') => new Promise((resolve, reject) => {
      const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handler);
      server.on('error', reject);
      server.listen(port, host, () => {
        servers.push(server);
        const addr = server.address();
        resolve({ server, port: typeof addr === 'object' && addr ? addr.port : port });
      });
    }),
    close: async () => {
      if (timer) clearInterval(timer);
      clearInterval(gcTimer);
      await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
      await blobs.close();
    },
  };
}
