/**
 * @module protocol/model
 * Loads the vendored botocore models (`models/<svc>.json`) once, and precomputes what the parser and the serializers
 * need per shape: member wire names for the query/ec2 request side and for the XML response side, compiled patterns,
 * enum sets. Everything here is read-only after the first load.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ModelService = 'ec2' | 'iam' | 'sts' | 's3';

/** A member reference inside a structure/list/map, as in botocore. */
export interface RawMemberRef {
  shape: string;
  locationName?: string;
  queryName?: string;
  location?: string;
  flattened?: boolean;
  xmlNamespace?: { uri?: string; prefix?: string };
  xmlAttribute?: boolean;
  timestampFormat?: string;
  idempotencyToken?: boolean;
  streaming?: boolean;
  deprecated?: boolean;
  [k: string]: unknown;
}

export interface RawShape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' | 'blob';
  members?: Record<string, RawMemberRef>;
  member?: RawMemberRef;
  key?: RawMemberRef;
  value?: RawMemberRef;
  required?: string[];
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  flattened?: boolean;
  locationName?: string;
  xmlNamespace?: { uri?: string; prefix?: string };
  timestampFormat?: string;
  payload?: string;
  exception?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  sensitive?: boolean;
  [k: string]: unknown;
}

export interface RawOperation {
  name: string;
  http: { method: string; requestUri: string; responseCode?: number };
  input?: { shape: string };
  output?: { shape: string; resultWrapper?: string };
  errors?: { shape: string }[];
  [k: string]: unknown;
}

export interface RawModel {
  metadata: { apiVersion: string; protocol: string; xmlNamespace?: string; [k: string]: unknown };
  operations: Record<string, RawOperation>;
  shapes: Record<string, RawShape>;
}

/** A structure member with everything precomputed. */
export interface Member {
  /** The member name in the model (the key of the typed input/output object). */
  name: string;
  /** The target shape name. */
  shape: string;
  ref: RawMemberRef;
  /** The request-side name in a query/ec2 form (`ImageId`, `PrivateIpAddresses`, `Tags`). */
  queryName: string;
  /** The response-side XML element name (`reservationSet`, `UserName`). */
  xmlName: string;
  required: boolean;
}

/** A loaded service model with per-shape caches. */
export class ServiceModel {
  readonly service: ModelService;
  readonly raw: RawModel;
  readonly protocol: string;
  /** XML namespace used on responses, always ending with `/`. */
  readonly xmlNamespace: string;
  private readonly memberCache = new Map<string, Member[]>();
  private readonly memberByQueryName = new Map<string, Map<string, Member>>();
  private readonly patternCache = new Map<string, RegExp | null>();
  private readonly enumCache = new Map<string, Set<string>>();
  private opsLower: Map<string, string> | undefined;

  constructor(service: ModelService, raw: RawModel) {
    this.service = service;
    this.raw = raw;
    this.protocol = raw.metadata.protocol;
    const ns = raw.metadata.xmlNamespace ?? (service === 's3' ? 'http://s3.amazonaws.com/doc/2006-03-01/' : '');
    this.xmlNamespace = ns.endsWith('/') ? ns : `${ns}/`;
  }

  /** The shape or throws (a model bug, never user input). */
  shape(name: string): RawShape {
    const s = this.raw.shapes[name];
    if (!s) throw new Error(`model ${this.service}: no shape ${name}`);
    return s;
  }

  hasShape(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.raw.shapes, name);
  }

  operation(name: string): RawOperation | undefined {
    return Object.prototype.hasOwnProperty.call(this.raw.operations, name) ? this.raw.operations[name] : undefined;
  }

  /** The AWS operations of the model (Eucalyptus extensions only when asked: the AWS SDKs don't know them). */
  operationNames(opts: { extensions?: boolean } = {}): string[] {
    return Object.keys(this.raw.operations).filter((n) => opts.extensions || this.raw.operations[n]!.eucaExtension !== true);
  }

  /** Case-insensitive operation lookup (returns the model's spelling). */
  operationCaseInsensitive(name: string): string | undefined {
    if (!this.opsLower) {
      this.opsLower = new Map();
      for (const n of Object.keys(this.raw.operations)) this.opsLower.set(n.toLowerCase(), n);
    }
    return this.opsLower.get(name.toLowerCase());
  }

  /** The members of a structure shape, with wire names precomputed. */
  members(shapeName: string): Member[] {
    let ms = this.memberCache.get(shapeName);
    if (ms) return ms;
    const s = this.shape(shapeName);
    const required = new Set(s.required ?? []);
    ms = Object.entries(s.members ?? {}).map(([name, ref]) => ({
      name,
      shape: ref.shape,
      ref,
      queryName: this.computeQueryName(name, ref),
      xmlName: ref.locationName ?? name,
      required: required.has(name),
    }));
    this.memberCache.set(shapeName, ms);
    return ms;
  }

  /** Members of a structure keyed by their request-side (query) name. */
  membersByQueryName(shapeName: string): Map<string, Member> {
    let m = this.memberByQueryName.get(shapeName);
    if (m) return m;
    m = new Map(this.members(shapeName).map((x) => [x.queryName, x]));
    this.memberByQueryName.set(shapeName, m);
    return m;
  }

  private computeQueryName(name: string, ref: RawMemberRef): string {
    if (this.protocol === 'ec2') {
      if (ref.queryName) return ref.queryName;
      if (ref.locationName) return ref.locationName.charAt(0).toUpperCase() + ref.locationName.slice(1);
      return name;
    }
    return ref.locationName ?? name;
  }

  /** The compiled `pattern` of a string shape (anchored), or null when absent or not compilable in JS. */
  pattern(shapeName: string): RegExp | null {
    if (this.patternCache.has(shapeName)) return this.patternCache.get(shapeName) ?? null;
    const p = this.shape(shapeName).pattern;
    let re: RegExp | null = null;
    if (p !== undefined && !brokenPattern(p)) {
      for (const flags of ['u', '']) {
        try {
          re = new RegExp(`^(?:${p})$`, flags);
          break;
        } catch {
          re = null;
        }
      }
    }
    this.patternCache.set(shapeName, re);
    return re;
  }

  /** The enum values of a string shape as a set, or undefined. */
  enumSet(shapeName: string): Set<string> | undefined {
    const s = this.shape(shapeName);
    if (!s.enum) return undefined;
    let e = this.enumCache.get(shapeName);
    if (!e) {
      e = new Set(s.enum);
      this.enumCache.set(shapeName, e);
    }
    return e;
  }
}

/** A model pattern with `^` in the middle (EC2 PlacementGroupArn) can never match: AWS does not apply it, nor do we. */
function brokenPattern(p: string): boolean {
  for (let i = 1; i < p.length; i++) if (p[i] === '^' && p[i - 1] !== '[' && p[i - 1] !== '\\') return true;
  return false;
}

const cache = new Map<string, ServiceModel>();
const paginatorCache = new Map<string, Record<string, Paginator>>();

/** A botocore paginator entry. */
export interface Paginator {
  input_token?: string | string[];
  output_token?: string | string[];
  limit_key?: string;
  result_key?: string | string[];
  more_results?: string;
}

let modelsDir: string | undefined;

/** Finds the `models/` folder by walking up from this module (works from src/ under tsx and from dist/). */
export function findModelsDir(): string {
  if (modelsDir) return modelsDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'models');
    if (existsSync(join(candidate, 'ec2.json'))) {
      modelsDir = candidate;
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('protocol: cannot find the models/ folder with ec2.json');
}

/** The parsed, cached model of a service. */
export function loadModel(service: ModelService): ServiceModel {
  let m = cache.get(service);
  if (!m) {
    const dir = findModelsDir();
    const raw = JSON.parse(readFileSync(join(dir, `${service}.json`), 'utf8')) as RawModel;
    // Eucalyptus's own operations on an AWS endpoint (e.g. IAM CreateAccount) live apart from the vendored AWS
    // model, in models/extensions/<svc>.json, and are merged in here: {operations, shapes}, never overriding AWS.
    const ext = join(dir, 'extensions', `${service}.json`);
    if (existsSync(ext)) {
      const add = JSON.parse(readFileSync(ext, 'utf8')) as Pick<RawModel, 'operations' | 'shapes'>;
      for (const [k, v] of Object.entries(add.operations ?? {})) if (!raw.operations[k]) raw.operations[k] = { ...v, eucaExtension: true };
      for (const [k, v] of Object.entries(add.shapes ?? {})) if (!raw.shapes[k]) raw.shapes[k] = v;
    }
    m = new ServiceModel(service, raw);
    cache.set(service, m);
  }
  return m;
}

/** The botocore paginators of a service (`models/<svc>.paginators.json`). */
export function loadPaginators(service: ModelService): Record<string, Paginator> {
  let p = paginatorCache.get(service);
  if (!p) {
    const f = join(findModelsDir(), `${service}.paginators.json`);
    p = existsSync(f) ? ((JSON.parse(readFileSync(f, 'utf8')) as { pagination?: Record<string, Paginator> }).pagination ?? {}) : {};
    paginatorCache.set(service, p);
  }
  return p;
}
