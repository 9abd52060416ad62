/**
 * @module auth/policy/cache
 * Caches so that evaluation costs only matching:
 * - `PolicyCompileCache`: document text → compiled policy (a managed policy shared by many users compiles once);
 * - `AuthzCache`: per credential (access key id) → whatever the caller derives from the principal's policies
 *   (typically a PolicySet), invalidated per account or globally when policies, memberships or attachments change.
 * Generations make invalidation O(1): bumping an account's generation makes all its entries stale.
 */
import { parsePolicy, type CompiledPolicy, type ParseOptions } from './parse.js';

/**
 * A small, approximately LRU map (insertion order = recency). A hit moves its entry to the most recent end only when
 * at least a quarter of the capacity was inserted or moved since its last move: a hot entry is never evicted, and the
 * common hit costs one map lookup instead of a delete and a re-insert.
 */
class Lru<K, V> {
  private readonly map = new Map<K, { v: V; seq: number }>();
  private seq = 0;
  private readonly slack: number;
  constructor(private readonly max: number) {
    this.slack = Math.max(1, max >> 2);
  }
  get(k: K): V | undefined {
    const e = this.map.get(k);
    if (e === undefined) return undefined;
    if (this.seq - e.seq >= this.slack) {
      this.map.delete(k);
      this.map.set(k, e);
      e.seq = ++this.seq;
    }
    return e.v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, { v, seq: ++this.seq });
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  delete(k: K): void {
    this.map.delete(k);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

export class PolicyCompileCache {
  private readonly lru: Lru<string, CompiledPolicy>;
  constructor(max = 4096) {
    this.lru = new Lru(max);
  }
  /** Parses (or returns the cached parse of) a document; throws MalformedPolicyDocument like parsePolicy. */
  compile(text: string, opts: ParseOptions = {}): CompiledPolicy {
    const key = `${opts.kind ?? 'identity'}\u0000${opts.requireVersion ? 1 : 0}\u0000${opts.name ?? ''}\u0000${text}`;
    let p = this.lru.get(key);
    if (!p) {
      p = parsePolicy(text, opts);
      this.lru.set(key, p);
    }
    return p;
  }
}

interface Entry<V> {
  value: V;
  accountId: string;
  accountGen: number;
  globalGen: number;
  expiresAt: number;
}

export interface AuthzCacheOptions {
  /** Entries kept (LRU). */
  max?: number;
  /** Upper bound on staleness when another process changes policies (ms); 0 = no expiry. */
  ttlMs?: number;
  /** Clock for expiry (ms). */
  now?: () => number;
}

export class AuthzCache<V> {
  private readonly lru: Lru<string, Entry<V>>;
  private readonly accountGens = new Map<string, number>();
  private globalGen = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(opts: AuthzCacheOptions = {}) {
    this.lru = new Lru(opts.max ?? 10_000);
    this.ttlMs = opts.ttlMs ?? 0;
    this.now = opts.now ?? Date.now;
  }

  get(credential: string): V | undefined {
    const e = this.lru.get(credential);
    if (
      !e ||
      e.globalGen !== this.globalGen ||
      e.accountGen !== (this.accountGens.get(e.accountId) ?? 0) ||
      (this.ttlMs > 0 && this.now() >= e.expiresAt)
    ) {
      if (e) this.lru.delete(credential);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return e.value;
  }

  set(credential: string, accountId: string, value: V): void {
    this.lru.set(credential, {
      value,
      accountId,
      accountGen: this.accountGens.get(accountId) ?? 0,
      globalGen: this.globalGen,
      expiresAt: this.ttlMs > 0 ? this.now() + this.ttlMs : Infinity,
    });
  }

  /** The cached value (synchronously: no promise on a hit), or a promise of it computed, stored and returned. */
  getOrLoad(credential: string, accountId: string, load: () => Promise<V>): V | Promise<V> {
    const hit = this.get(credential);
    return hit !== undefined ? hit : this.load(credential, accountId, load);
  }

  private async load(credential: string, accountId: string, load: () => Promise<V>): Promise<V> {
    const gen = this.accountGens.get(accountId) ?? 0;
    const global = this.globalGen;
    const v = await load();
    // a change during the load must not be hidden by storing a stale value
    if (gen === (this.accountGens.get(accountId) ?? 0) && global === this.globalGen) this.set(credential, accountId, v);
    return v;
  }

  /** Policies, groups or attachments of this account changed. */
  invalidateAccount(accountId: string): void {
    this.accountGens.set(accountId, (this.accountGens.get(accountId) ?? 0) + 1);
  }

  invalidateCredential(credential: string): void {
    this.lru.delete(credential);
  }

  invalidateAll(): void {
    this.globalGen++;
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}
