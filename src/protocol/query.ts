/**
 * @module protocol/query
 * The request side of the `ec2` and `query` protocols: flat form parameters (`Filter.1.Value.2=x`,
 * `Tags.member.1.Key=k`) → a typed input object following the operation's input shape, validated against the model
 * (required members, number/boolean/timestamp/blob formats, enums, lengths, ranges, patterns).
 *
 * Robustness: parameters are first folded into a prefix tree (keys longer than 64 segments or 4 KiB are ignored),
 * then only paths that exist in the model are visited, so deep nesting, huge list indexes (`Filter.99999999.Name`:
 * list items are ordered by index, never allocated by it), duplicate keys (the first wins) and unknown parameters
 * (ignored, as LocalStack and moto do) cannot hurt.
 */
import { AwsError } from '../shared/index.js';
import { loadModel, type RawMemberRef, type RawShape, type ServiceModel } from './model.js';

export type QueryService = 'ec2' | 'iam' | 'sts';

const MAX_SEGMENTS = 64;
const MAX_KEY_LENGTH = 4096;

interface TreeNode {
  v?: string;
  c?: Map<string, TreeNode>;
}

function childOf(node: TreeNode, name: string): TreeNode {
  node.c ??= new Map();
  let next = node.c.get(name);
  if (!next) {
    next = {};
    node.c.set(name, next);
  }
  return next;
}

/** Folds `a.b.1.c=v` parameters into a prefix tree. The first occurrence of a key wins. */
function buildTree(params: URLSearchParams): TreeNode {
  const root: TreeNode = {};
  // (forEach: URLSearchParams' iterator makes a [key, value] array per parameter)
  params.forEach((value, key) => {
    if (key.length > MAX_KEY_LENGTH) return;
    let node: TreeNode;
    // a top-level parameter (most of them) needs no split
    if (key.indexOf('.') < 0) node = childOf(root, key);
    else {
      const segs = key.split('.');
      if (segs.length > MAX_SEGMENTS) return;
      node = root;
      for (const s of segs) node = childOf(node, s);
    }
    if (node.v === undefined) node.v = value;
  });
  return root;
}

/** What the validation found wrong at one place. */
interface Violation {
  kind: 'missing' | 'invalid';
  /** Wire path (`Filter.1.Name`), for EC2 messages. */
  wirePath: string;
  /** AWS validation path (`tags.1.member.key`), for query messages. */
  awsPath: string;
  value: string | null;
  constraint: string;
  sensitive: boolean;
}

/** Which checks a service gets (AWS is not consistent; see docs/architecture.md). */
interface ValidationPolicy {
  enums: boolean;
  lengths: boolean;
  ranges: boolean;
  patterns: boolean;
}

const POLICY: Record<QueryService, ValidationPolicy> = {
  ec2: { enums: true, lengths: true, ranges: true, patterns: true },
  iam: { enums: true, lengths: true, ranges: true, patterns: true },
  sts: { enums: true, lengths: true, ranges: true, patterns: true },
};

const MAX_VIOLATIONS = 10;
/** Returned for a value that was present but invalid (already recorded as a violation). */
const INVALID = Symbol('invalid');

class Parser {
  readonly violations: Violation[] = [];
  private atWire = '';
  private atAws = '';
  private atRaw = '';
  private atSensitive = false;
  constructor(
    readonly model: ServiceModel,
    readonly policy: ValidationPolicy,
  ) {}

  private violate(v: Violation): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(v);
  }

  structure(shapeName: string, node: TreeNode | undefined, wirePath: string, awsPath: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const children = node?.c;
    for (const m of this.model.members(shapeName)) {
      const child = children?.get(m.queryName);
      // (the paths, for messages, are made only for members present or required)
      if (child === undefined && !m.required) continue;
      const wp = wirePath ? `${wirePath}.${m.queryName}` : m.queryName;
      const ap = awsPath ? `${awsPath}.${lowerFirst(m.name)}` : lowerFirst(m.name);
      const value = child ? this.value(m.shape, m.ref, child, wp, ap) : undefined;
      if (value === INVALID) continue;
      if (value === undefined) {
        if (m.required) {
          this.violate({ kind: 'missing', wirePath: wp, awsPath: ap, value: null, constraint: 'Member must not be null', sensitive: false });
        }
        continue;
      }
      out[m.name] = value;
    }
    return out;
  }

  value(shapeName: string, ref: RawMemberRef | undefined, node: TreeNode, wirePath: string, awsPath: string): unknown {
    const shape = this.model.shape(shapeName);
    switch (shape.type) {
      case 'structure':
        if (!node.c) return node.v === undefined ? undefined : this.structureFromEmpty(shapeName, node, wirePath, awsPath);
        return this.structure(shapeName, node, wirePath, awsPath);
      case 'list':
        return this.list(shape, ref, node, wirePath, awsPath);
      case 'map':
        return this.map(shape, ref, node, wirePath, awsPath);
      default:
        if (node.v === undefined) return undefined;
        return this.scalar(shapeName, shape, node.v, wirePath, awsPath);
    }
  }

  /** `Foo=` for a structure: present but empty; still check its required members. */
  private structureFromEmpty(shapeName: string, _node: TreeNode, wirePath: string, awsPath: string): Record<string, unknown> {
    return this.structure(shapeName, undefined, wirePath, awsPath);
  }

  private list(shape: RawShape, ref: RawMemberRef | undefined, node: TreeNode, wirePath: string, awsPath: string): unknown[] | undefined {
    const member = shape.member;
    if (!member) return undefined;
    let itemsNode: TreeNode | undefined = node;
    let itemWire = wirePath;
    const flattened = this.model.protocol === 'ec2' || ref?.flattened === true || shape.flattened === true;
    if (!flattened) {
      const memberName = member.locationName ?? 'member';
      itemsNode = node.c?.get(memberName);
      itemWire = `${wirePath}.${memberName}`;
    }
    const items = indexedChildren(itemsNode);
    if (items.length === 0) {
      // `Name=` (an explicitly empty list, as botocore and the JS SDK send it)
      if (node.v !== undefined) return [];
      return undefined;
    }
    const out: unknown[] = [];
    let pos = 0;
    for (const [idx, child] of items) {
      pos++;
      const v = this.value(member.shape, member, child, `${itemWire}.${idx}`, `${awsPath}.${pos}.member`);
      if (v !== undefined && v !== INVALID) out.push(v);
    }
    this.checkCount(shape, out.length, wirePath, awsPath);
    return out;
  }

  private map(shape: RawShape, ref: RawMemberRef | undefined, node: TreeNode, wirePath: string, awsPath: string): Record<string, unknown> | undefined {
    if (!shape.key || !shape.value) return undefined;
    const flattened = ref?.flattened === true || shape.flattened === true;
    const entriesNode = flattened ? node : node.c?.get('entry');
    const keyName = shape.key.locationName ?? 'key';
    const valueName = shape.value.locationName ?? 'value';
    const entries = indexedChildren(entriesNode);
    if (entries.length === 0) return node.v !== undefined ? {} : undefined;
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [idx, child] of entries) {
      const base = flattened ? `${wirePath}.${idx}` : `${wirePath}.entry.${idx}`;
      const kNode = child.c?.get(keyName);
      const vNode = child.c?.get(valueName);
      const k = kNode ? this.value(shape.key.shape, shape.key, kNode, `${base}.${keyName}`, `${awsPath}.${idx}.key`) : undefined;
      if (k === INVALID) continue;
      if (typeof k !== 'string') {
        this.violate({ kind: 'missing', wirePath: `${base}.${keyName}`, awsPath: `${awsPath}.${idx}.key`, value: null, constraint: 'Member must not be null', sensitive: false });
        continue;
      }
      const v = vNode ? this.value(shape.value.shape, shape.value, vNode, `${base}.${valueName}`, `${awsPath}.${idx}.value`) : undefined;
      if (v === undefined || v === INVALID) continue;
      if (!Object.prototype.hasOwnProperty.call(out, k)) n++;
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    this.checkCount(shape, n, wirePath, awsPath);
    return out;
  }

  private checkCount(shape: RawShape, n: number, wirePath: string, awsPath: string): void {
    if (!this.policy.lengths) return;
    if (shape.min !== undefined && n < shape.min) {
      this.violate({ kind: 'invalid', wirePath, awsPath, value: `[${n} items]`, constraint: `Member must have length greater than or equal to ${shape.min}`, sensitive: false });
    } else if (shape.max !== undefined && n > shape.max) {
      this.violate({ kind: 'invalid', wirePath, awsPath, value: `[${n} items]`, constraint: `Member must have length less than or equal to ${shape.max}`, sensitive: false });
    }
  }

  private scalar(shapeName: string, shape: RawShape, raw: string, wirePath: string, awsPath: string): unknown {
    // the value being checked, for bad() (a method: a closure would be re-created for every scalar)
    this.atWire = wirePath;
    this.atAws = awsPath;
    this.atRaw = raw;
    this.atSensitive = shape.sensitive === true;
    switch (shape.type) {
      case 'string': {
        const p = this.policy;
        if (p.enums && shape.enum && !this.model.enumSet(shapeName)?.has(raw)) {
          return this.bad(`Member must satisfy enum value set: [${enumList(shape.enum)}]`);
        }
        if (p.lengths && shape.min !== undefined && raw.length < shape.min) return this.bad(`Member must have length greater than or equal to ${shape.min}`);
        if (p.lengths && shape.max !== undefined && raw.length > shape.max) return this.bad(`Member must have length less than or equal to ${shape.max}`);
        if (p.patterns && shape.pattern !== undefined) {
          const re = this.model.pattern(shapeName);
          if (re && !re.test(raw)) return this.bad(`Member must satisfy regular expression pattern: ${shape.pattern}`);
        }
        return raw;
      }
      case 'integer':
      case 'long': {
        const t = raw.trim();
        if (!/^[+-]?\d{1,20}$/.test(t)) return this.bad(`Member must be ${shape.type === 'integer' ? 'an integer' : 'a long'}`);
        const n = Number(t);
        const limit = shape.type === 'integer' ? 2147483647 : Number.MAX_SAFE_INTEGER;
        if (n > limit || n < -limit - (shape.type === 'integer' ? 1 : 0)) return this.bad(`Member must be ${shape.type === 'integer' ? 'an integer' : 'a long'}`);
        return this.range(shape, n);
      }
      case 'float':
      case 'double': {
        const t = raw.trim();
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return this.bad('Member must be a number');
        const n = Number(t);
        if (!Number.isFinite(n)) return this.bad('Member must be a number');
        return this.range(shape, n);
      }
      case 'boolean': {
        const t = raw.trim().toLowerCase();
        if (t === 'true') return true;
        if (t === 'false') return false;
        return this.bad('Member must be a boolean');
      }
      case 'timestamp': {
        const d = parseTimestamp(raw);
        return d ?? this.bad('Member must be a timestamp');
      }
      case 'blob': {
        const t = raw.replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) && !/^[A-Za-z0-9_-]*={0,2}$/.test(t)) return this.bad('Member must be base64-encoded');
        return Buffer.from(t, 'base64');
      }
      default:
        return raw;
    }
  }

  private bad(constraint: string): typeof INVALID {
    this.violate({ kind: 'invalid', wirePath: this.atWire, awsPath: this.atAws, value: this.atRaw, constraint, sensitive: this.atSensitive });
    return INVALID;
  }

  private range(shape: RawShape, n: number): number | typeof INVALID {
    if (!this.policy.ranges) return n;
    if (shape.min !== undefined && n < shape.min) return this.bad(`Member must have value greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && n > shape.max) return this.bad(`Member must have value less than or equal to ${shape.max}`);
    return n;
  }
}


/** Children with numeric names (list/map indexes), ordered by number. Non-numeric or absurd indexes are ignored. */
function indexedChildren(node: TreeNode | undefined): [number, TreeNode][] {
  if (!node?.c) return [];
  const out: [number, TreeNode][] = [];
  for (const [k, child] of node.c) {
    if (k.length === 0 || k.length > 15 || !/^\d+$/.test(k)) continue;
    out.push([Number(k), child]);
  }
  out.sort((a, b) => a[0] - b[0]);
  return out;
}

/** The enum values for a message; EC2's InstanceType alone has hundreds, so long lists are cut. */
function enumList(values: string[]): string {
  const s = values.join(', ');
  return s.length <= 1000 ? s : `${values.slice(0, 30).join(', ')}, ... (${values.length} values)`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO 8601 (as botocore and the JS SDK send) or epoch seconds. */
function parseTimestamp(raw: string): Date | undefined {
  const t = raw.trim();
  if (/^\d{1,12}(\.\d+)?$/.test(t)) return new Date(Number(t) * 1000);
  if (!ISO_RE.test(t)) return undefined;
  // JS Date.parse takes at most millisecond digits; trim the rest; no zone means UTC
  let s = t.replace(/(\.\d{3})\d+/, '$1');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(s)) s += 'Z';
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** Builds the AWS error for the first violations, in the service's style. */
function validationError(service: QueryService, violations: Violation[]): AwsError {
  const first = violations[0]!;
  if (service === 'ec2') {
    if (first.kind === 'missing') return new AwsError('MissingParameter', `The request must contain the parameter ${first.wirePath}`);
    const shown = first.sensitive ? '' : ` (${truncate(first.value ?? '', 256)})`;
    return new AwsError('InvalidParameterValue', `Value${shown} for parameter ${first.wirePath} is invalid. ${first.constraint}`);
  }
  const n = violations.length;
  const parts = violations.map((v) => {
    const val = v.value === null ? 'null' : v.sensitive ? '' : `'${truncate(v.value, 256)}'`;
    return `Value${val ? ` ${val}` : ''} at '${v.awsPath}' failed to satisfy constraint: ${v.constraint}`;
  });
  return new AwsError('ValidationError', `${n} validation error${n === 1 ? '' : 's'} detected: ${parts.join('; ')}`);
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

/** The service's "no such action" error. */
export function invalidAction(service: QueryService, action: string | null): AwsError {
  const model = loadModel(service);
  if (service === 'ec2') {
    if (!action) return new AwsError('InvalidAction', 'The request must contain the parameter Action');
    return new AwsError('InvalidAction', `The action ${truncate(action, 128)} is not valid for this web service.`);
  }
  if (!action) return new AwsError('InvalidAction', 'Could not find operation (missing Action parameter)');
  return new AwsError('InvalidAction', `Could not find operation ${truncate(action, 128)} for version ${model.raw.metadata.apiVersion}`);
}

/**
 * Parses an `ec2`/`query` request: the query string and the form body merged into one `URLSearchParams` (both `+`
 * and `%20` decode to a space there) → the operation name and its typed input: member names as in the model, lists as
 * arrays, structures as objects, maps as objects, numbers as numbers, booleans as booleans, timestamps as `Date`,
 * blobs as `Buffer`. `Version` and the signature parameters are ignored, as are parameters the model does not know.
 *
 * @throws AwsError `InvalidAction` (400) when Action is absent or not an operation of the service;
 *   a missing required member → EC2 `MissingParameter`, IAM/STS `ValidationError`
 *   ("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
 *   a malformed number/boolean/timestamp/blob or a value outside the enum/length/range/pattern of the model →
 *   EC2 `InvalidParameterValue`, IAM/STS `ValidationError`.
 * @example parseQueryRequest('ec2', new URLSearchParams('Action=DescribeInstances&InstanceId.1=i-1'))
 *   // { operation: 'DescribeInstances', input: { InstanceIds: ['i-1'] } }
 */
export function parseQueryRequest(service: QueryService, params: URLSearchParams): { operation: string; input: Record<string, unknown> } {
  const model = loadModel(service);
  const action = params.get('Action');
  if (!action || !model.operation(action)) throw invalidAction(service, action);
  const op = model.operation(action)!;
  if (!op.input) return { operation: action, input: {} };
  const parser = new Parser(model, POLICY[service]);
  const input = parser.structure(op.input.shape, buildTree(params), '', '');
  if (parser.violations.length > 0) throw validationError(service, parser.violations);
  return { operation: action, input };
}
