/**
 * @module main/cloud
 * The composition root of the cloud-in-a-box: opens the database, migrates it, makes sure the cloud admin exists,
 * builds every component that exists so far and starts their servers. `euca up` and the tests both use it.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { openDatabase, migrate, type Database } from '../db/index.js';
import { createLogger, type CloudConfig, type Logger, type Principal } from '../shared/index.js';
import { IamStore, PropertyStore, IamDirectory, IamAuthorizer, StsStore, CombinedCredentialStore, type AccessKey, type Account } from '../clc/index.js';
import { createGateway, type Authorizer, type Gateway, type HandlerTable } from '../api/gateway/index.js';
import { createIamUserHandlers, createIamAccountHandlers, createIamDirectoryHandlers, createIamSimulateHandlers, createIamAuthorizationDetailsHandlers, policyAuthorizer } from '../api/iam/index.js';
import { createStsHandlers, createStsSessionHandlers } from '../api/sts/index.js';
import { createRegionHandlers } from '../api/ec2/regions.js';
import { allMigrations } from './migrations.js';
import { withEc2Quotas } from './quotas.js';
import { ensureCloudKeys } from './keys.js';
import { startCompute, walrusObjectAccess, type ComputeStack } from './compute.js';
import { openWalrusService, createS3Handler, sigv4Authenticator, type WalrusService } from '../api/s3/index.js';

export interface InitResult { account: Account; key: AccessKey; created: boolean }

/** `euca init`: data directory, config file, database schema, the eucalyptus account and its admin key, cloud keys. */
export async function initCloud(cfg: CloudConfig): Promise<InitResult> {
  mkdirSync(cfg.dataDir, { recursive: true });
  const file = join(cfg.dataDir, 'euca.json');
  if (!existsSync(file)) {
    const { dataDir: _d, ...saved } = cfg;
    writeFileSync(file, JSON.stringify(saved, null, 2) + '\n');
  }
  ensureCloudKeys(cfg.dataDir);
  const database = await openDatabase(cfg.db);
  try {
    await migrate(database, allMigrations);
    const iam = new IamStore(database.db);
    const b = await iam.bootstrap();
    await new PropertyStore(database.db).set('region.region_name', cfg.region);
    return { account: b.account, key: b.key, created: b.created };
  } finally {
    await database.close();
  }
}

export interface RunningCloud {
  config: CloudConfig;
  database: Database;
  iam: IamStore;
  /** Groups, policies, roles … (IAM beyond users and keys). */
  directory: IamDirectory;
  /** The policy engine's enforcement and quotas. */
  authz: IamAuthorizer;
  sts: StsStore;
  properties: PropertyStore;
  endpoints: { clc: string; walrus: string; cc: Record<string, string> };
  ports: { clc: number; walrus: number };
  /** The object store (S3 on its own port and at the gateway's /services/objectstorage). */
  walrus: WalrusService;
  log: Logger;
  /** Instances, images, key pairs, tags and the zones' cluster controllers. */
  compute: ComputeStack;
  /** The CLC's API gateway (its request handler, e.g. for benchmarks of the request path without sockets). */
  gateway: Gateway;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  authorizer?: Authorizer;
  /** Bind to port 0 for every server (tests) instead of the configured ports. */
  ephemeralPorts?: boolean;
}

/** Starts every component of the cloud-in-a-box in this process. */
export async function startCloud(cfg: CloudConfig, opts: StartOptions = {}): Promise<RunningCloud> {
  const log = opts.log ?? createLogger('euca');
  const database = await openDatabase(cfg.db);
  const servers: Server[] = [];
  let compute: ComputeStack | undefined;
  let walrusSvc: WalrusService | undefined;
  try {
    await migrate(database, allMigrations);
    const iam = new IamStore(database.db);
    await iam.bootstrap();
    const properties = new PropertyStore(database.db);
    const endpointHost = `http://${cfg.host}:${cfg.ports.clc}`;
    const systemAccount = (await iam.bootstrap()).account.accountId;
    const directory = new IamDirectory(database.db);
    const authz = new IamAuthorizer(directory, iam);
    const sts = new StsStore(database.db, iam, directory);
    const credentials = new CombinedCredentialStore(iam, sts);
    // Walrus: its own port (8779) and the gateway's /services/objectstorage, one object store behind both.
    const walrusLog = log.child({ component: 'walrus' });
    const s3Quota = (principal: Principal, action: string, usage: Record<string, number>) => authz.enforceQuota(
      { principal, service: 's3', sourceIp: '', secure: false, now: new Date(), region: cfg.region }, action, usage, { code: 'TooManyBuckets', status: 400 });
    walrusSvc = await openWalrusService({
      db: database.db, dir: join(cfg.dataDir, 'walrus'), credentials, region: cfg.region, s3Domain: cfg.s3Domain,
      identityPolicies: (p) => authz.identityPolicies(p), log: walrusLog, quota: s3Quota,
    });
    const walrusPort = await walrusSvc.listen(opts.ephemeralPorts ? 0 : cfg.ports.walrus, cfg.host);
    servers.push(walrusPort.server);
    const s3Mounted = createS3Handler({
      walrus: walrusSvc.walrus, region: cfg.region, log: walrusLog, credentials, authenticate: sigv4Authenticator({ credentials }),
      identityPolicies: (p) => authz.identityPolicies(p), s3Domain: cfg.s3Domain, prefix: '/services/objectstorage', quota: s3Quota,
    });
    compute = await startCompute(cfg, database.db, properties, log, {
      ...(opts.ephemeralPorts ? { ephemeralPorts: true } : {}), systemAccountId: systemAccount,
      objects: walrusObjectAccess(walrusSvc.walrus, join(cfg.dataDir, 'image-cache')),
    });
    const ec2: HandlerTable = {
      ...createRegionHandlers({ region: cfg.region, zones: cfg.zones, endpoint: endpointHost }),
      ...withEc2Quotas(compute.handlers, { authz, compute: compute.service }),
    };
    const gateway = createGateway({
      region: cfg.region, credentials, authorizer: opts.authorizer ?? policyAuthorizer(authz), log, s3: s3Mounted,
      handlers: {
        ec2,
        iam: { ...createIamUserHandlers({ iam }), ...createIamAccountHandlers({ iam }), ...createIamDirectoryHandlers({ iam, directory, authorizer: authz }), ...createIamSimulateHandlers({ iam, directory }), ...createIamAuthorizationDetailsHandlers({ iam, directory }) },
        sts: { ...createStsHandlers(), ...createStsSessionHandlers({ sts, directory, authorizer: authz }) },
      },
    });
    const clc = await gateway.listen(opts.ephemeralPorts ? 0 : cfg.ports.clc, cfg.host);
    servers.push(clc.server);
    const ports = { clc: clc.port, walrus: walrusPort.port };
    log.info({ ports }, 'cloud started');
    return {
      config: cfg, database, iam, directory, authz, sts, properties, log, ports, compute, gateway,
      walrus: walrusSvc,
      endpoints: { clc: `http://${cfg.host}:${clc.port}`, walrus: `http://${cfg.host}:${walrusPort.port}`, cc: Object.fromEntries([...compute.clusters].map(([z, c]) => [z, c.server.url])) },
      async stop() {
        await compute!.stop();
        await walrusSvc!.close();
        await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
        await database.close();
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    await compute?.stop();
    await walrusSvc?.close();
    await database.close();
    throw e;
  }
}
