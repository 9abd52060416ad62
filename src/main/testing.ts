/**
 * @module main/testing
 * A whole cloud-in-a-box for one test: temporary data directory, a fresh database (SQLite, or PostgreSQL with
 * EUCA_TEST_DB=postgres), every server on an ephemeral 127.0.0.1 port, and the cloud admin's credentials.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDbConfig } from '../db/index.js';
import { defaultConfig, silentLogger, createLogger, type CloudConfig } from '../shared/index.js';
import { startCloud, type RunningCloud, type StartOptions } from './cloud.js';

export interface TestCloud extends RunningCloud {
  admin: { accessKeyId: string; secretAccessKey: string; accountId: string };
  /** SDK v3 client options for the admin against a service endpoint. */
  clientConfig(service: 'ec2' | 'iam' | 'sts', creds?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): {
    endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; maxAttempts: number;
  };
}

const PATHS = { ec2: '/services/compute', iam: '/services/Euare', sts: '/services/Tokens' } as const;

export async function startTestCloud(opts: StartOptions & { configure?: (c: CloudConfig) => void } = {}): Promise<TestCloud> {
  const dataDir = mkdtempSync(join(tmpdir(), 'euca-cloud-'));
  const { cfg: db, cleanup } = testDbConfig();
  const config: CloudConfig = { ...defaultConfig(dataDir), db };
  opts.configure?.(config);
  const log = opts.log ?? (process.env.EUCA_TEST_LOG ? createLogger('test-cloud', process.env.EUCA_TEST_LOG) : silentLogger());
  const cloud = await startCloud(config, { ...opts, log, ephemeralPorts: true });
  const boot = await cloud.iam.bootstrap();
  const admin = { accessKeyId: boot.key.accessKeyId, secretAccessKey: boot.key.secretAccessKey, accountId: boot.account.accountId };
  return {
    ...cloud,
    admin,
    clientConfig(service, creds = admin) {
      return { endpoint: `${cloud.endpoints.clc}${PATHS[service]}`, region: config.region, credentials: creds, maxAttempts: 1 };
    },
    async stop() {
      await cloud.stop();
      await cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
