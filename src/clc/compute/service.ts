/**
 * @module clc/compute/service
 * The compute domain assembled: key pairs, images, tags and instances over one database, the zones' cluster
 * controllers, and the reconciliation loop (every `intervalMs`, default 3 s, plus `kick()` on events).
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../../shared/index.js';
import type { CcClient } from '../../rpc/index.js';
import type { ComputeTables } from './schema.js';
import { TagStore } from './tags.js';
import { KeyPairStore } from './keypairs.js';
import { ImageStore, type ObjectAccess } from './images.js';
import { InstanceStore, type Settings } from './instances.js';

export interface ComputeServiceOptions {
  db: Kysely<any>;
  settings: Settings;
  zones: Map<string, CcClient>;
  region: string;
  objects?: ObjectAccess;
  /** The cloud admin account id (DescribeImages owners=amazon/eucalyptus). */
  systemAccountId?: string;
  log: Logger;
  now?: () => number;
}

export class ComputeService {
  readonly tags: TagStore;
  readonly keyPairs: KeyPairStore;
  readonly images: ImageStore;
  readonly instances: InstanceStore;
  readonly region: string;
  readonly systemAccountId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private again = false;

  constructor(private readonly opts: ComputeServiceOptions) {
    const db = opts.db as Kysely<ComputeTables>;
    this.region = opts.region;
    this.systemAccountId = opts.systemAccountId;
    this.tags = new TagStore(db);
    this.keyPairs = new KeyPairStore(db, this.tags);
    this.images = new ImageStore(db, this.tags, opts.objects, async () => (await opts.settings.get('cloud.images.defaultvisibility').catch(() => 'false')) === 'true');
    this.instances = new InstanceStore({
      db, tags: this.tags, images: this.images, keyPairs: this.keyPairs, settings: opts.settings, zones: opts.zones, region: opts.region, log: opts.log,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  get zones(): string[] {
    return [...this.opts.zones.keys()];
  }

  /** Runs one reconciliation now (coalescing concurrent requests). */
  async reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      await this.running;
      return;
    }
    const run = (async () => {
      do {
        this.again = false;
        try {
          await this.instances.reconcile();
        } catch (e) {
          this.opts.log.warn({ err: (e as Error).message }, 'reconcile failed');
        }
      } while (this.again);
    })();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
    }
  }

  private kickTimer: NodeJS.Timeout | undefined;

  /** Asks for a reconciliation soon (after a user action); many kicks within 250 ms make one pass. */
  kick(): void {
    if (this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      void this.reconcile();
    }, 250);
    this.kickTimer.unref();
  }

  /** Starts the periodic loop (recovering recorded launches first). */
  start(intervalMs = 3000): void {
    if (this.timer) return;
    this.kick();
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.timer = undefined;
    this.kickTimer = undefined;
    if (this.running) await this.running.catch(() => undefined);
    await this.instances.idle();
  }
}
