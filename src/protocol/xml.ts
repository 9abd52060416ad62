/**
 * @module protocol/xml
 * The model-driven XML writer shared by the EC2, query and S3 (rest-xml) serializers. It walks a plain value along a
 * botocore shape and writes wire names from the model: wrapped lists (`<x><item>…</item></x>` / `<member>`),
 * flattened lists, maps (`entry/key/value`), XML attributes (S3 `xsi:type`), namespaces, and the per-protocol
 * timestamp style. Strings are escaped (`& < > " '`, CR as `&#xD;`) and characters illegal in XML 1.0 are dropped.
 */
import { loadModel, type ModelService, type RawMemberRef, type ServiceModel } from './model.js';

/** Characters that need escaping or that are illegal in XML 1.0 (C0 controls but TAB/LF/CR, lone surrogates, FFFE/FFFF). */
const NEEDS_WORK = /[&<>"'\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const WORK_GLOBAL =
  /[&<>"'\r]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#xD;',
};

/**
 * Escapes text for XML element content or attribute values: `& < > " '` become entities, CR becomes `&#xD;` (so it
 * survives XML end-of-line normalisation) and characters that XML 1.0 forbids (C0 controls other than TAB, LF, CR;
 * unpaired surrogates; U+FFFE, U+FFFF) are removed.
 * @example escapeXml('a<b & "c"') // 'a&lt;b &amp; &quot;c&quot;'
 */
export function escapeXml(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  return s.replace(WORK_GLOBAL, (c) => ENTITIES[c] ?? '');
}

/** How timestamps are written. `iso8601-ms`: `2026-11-27T08:00:00.000Z` (EC2, S3); `iso8601`: no `.000` when whole seconds (IAM, STS). */
export type TimestampStyle = 'iso8601-ms' | 'iso8601' | 'rfc822' | 'unixTimestamp';

/** Options of {@link writeShapeXml}. */
export interface WriteXmlOptions {
  /** Root element name. Default: the shape's `locationName`, else the shape name. Ignored with `contentOnly`. */
  rootName?: string;
  /** `xmlns` of the root element. Default: the shape's own `xmlNamespace` if the model has one, else none. `false`: none. */
  xmlns?: string | false;
  /** Prefix `<?xml version="1.0" encoding="UTF-8"?>`. Default false. */
  declaration?: boolean;
  /** Write only the members of the structure, without a root element (used inside envelopes). Default false. */
  contentOnly?: boolean;
  /** Default timestamp style (a member's or shape's `timestampFormat` wins). Default: `iso8601` for iam/sts, else `iso8601-ms`. */
  timestampStyle?: TimestampStyle;
  /**
   * String shapes written URL-encoded (IAM returns policy documents `urlencode(json)`). Default for iam:
   * `policyDocumentType`; none for other services.
   */
  urlEncodeShapes?: ReadonlySet<string>;
  /** Skip members bound outside the body (`location`: header, headers, querystring, uri, statusCode). Default true. */
  skipNonBodyMembers?: boolean;
}

const IAM_URLENCODED = new Set(['policyDocumentType']);
const NO_SHAPES: ReadonlySet<string> = new Set();
/** Deeper than any AWS model goes; guards against cyclic handler output. */
const MAX_DEPTH = 100;

interface Ctx {
  model: ServiceModel;
  ts: TimestampStyle;
  urlEncode: ReadonlySet<string>;
  skipNonBody: boolean;
  /** The XML written so far (appended to: V8 joins such strings lazily, cheaper than an array and a join). */
  xml: string;
}

/**
 * Writes `value` (a plain object keyed by the shape's member names, as handlers return it) as XML following the
 * shape `shapeName` of the service model. `undefined`/`null` members are skipped; members unknown to the model are
 * ignored; booleans are `true`/`false`; blobs (Buffer/Uint8Array, or a string taken as UTF-8) are base64; timestamps
 * accept Date, ISO string or epoch **milliseconds** (number or bigint).
 *
 * @example
 * writeShapeXml('s3', 'ListObjectsV2Output', out, { rootName: 'ListBucketResult', xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', declaration: true })
 * writeShapeXml('ec2', 'DescribeKeyPairsResult', out, { contentOnly: true })
 */
export function writeShapeXml(service: ModelService, shapeName: string, value: unknown, opts: WriteXmlOptions = {}): string {
  const model = loadModel(service);
  const shape = model.shape(shapeName);
  const ctx: Ctx = {
    model,
    ts: opts.timestampStyle ?? (service === 'iam' || service === 'sts' ? 'iso8601' : 'iso8601-ms'),
    urlEncode: opts.urlEncodeShapes ?? (service === 'iam' ? IAM_URLENCODED : NO_SHAPES),
    skipNonBody: opts.skipNonBodyMembers ?? true,
    xml: '',
  };
  if (opts.declaration) ctx.xml += '<?xml version="1.0" encoding="UTF-8"?>';
  if (opts.contentOnly) {
    if (shape.type === 'structure') writeMembers(ctx, shapeName, value, 0);
    else if (value !== undefined && value !== null) ctx.xml += escapeXml(scalarText(ctx, shapeName, undefined, value));
    return ctx.xml;
  }
  const rootName = opts.rootName ?? shape.locationName ?? shapeName;
  const xmlns = opts.xmlns === false ? undefined : (opts.xmlns ?? shape.xmlNamespace?.uri);
  writeElement(ctx, rootName, shapeName, { shape: shapeName, ...(xmlns ? { xmlNamespace: { uri: xmlns } } : {}) }, value, 0);
  return ctx.xml;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);
}

function nsAttr(ns: { uri?: string; prefix?: string } | undefined): string {
  if (!ns?.uri) return '';
  return ns.prefix ? ` xmlns:${ns.prefix}="${escapeXml(ns.uri)}"` : ` xmlns="${escapeXml(ns.uri)}"`;
}

/** Writes the body members of a structure (attributes are written by the caller). */
function writeMembers(ctx: Ctx, shapeName: string, value: unknown, depth: number): void {
  if (!isObject(value)) return;
  for (const m of ctx.model.members(shapeName)) {
    if (m.ref.xmlAttribute) continue;
    if (ctx.skipNonBody && m.ref.location) continue;
    const v = value[m.name];
    if (v === undefined || v === null) continue;
    writeMember(ctx, m.xmlName, m.ref, v, depth + 1);
  }
}

/** Writes one structure member: flattened lists/maps repeat their element, everything else is one element. */
function writeMember(ctx: Ctx, name: string, ref: RawMemberRef, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) return;
  const target = ctx.model.shape(ref.shape);
  const flattened = ref.flattened === true || target.flattened === true;
  if (flattened && target.type === 'list' && target.member) {
    const itemName = target.member.locationName ?? name;
    for (const item of toArray(v)) {
      if (item === undefined || item === null) continue;
      writeElement(ctx, itemName, target.member.shape, target.member, item, depth + 1);
    }
    return;
  }
  if (flattened && target.type === 'map' && target.key && target.value) {
    if (!isObject(v) && !(v instanceof Map)) return;
    for (const [k, val] of mapEntries(v)) {
      if (val === undefined || val === null) continue;
      ctx.xml += `<${name}>`;
      writeElement(ctx, target.key.locationName ?? 'key', target.key.shape, target.key, k, depth + 1);
      writeElement(ctx, target.value.locationName ?? 'value', target.value.shape, target.value, val, depth + 1);
      ctx.xml += `</${name}>`;
    }
    return;
  }
  writeElement(ctx, name, ref.shape, ref, v, depth);
}

function toArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...(v as Set<unknown>)];
  return [v];
}

function mapEntries(v: Record<string, unknown> | Map<unknown, unknown>): [string, unknown][] {
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [String(k), x]);
  return Object.entries(v);
}

/** Writes `<name attrs>content</name>` for a value of shape `shapeName`. */
function writeElement(ctx: Ctx, name: string, shapeName: string, ref: RawMemberRef | undefined, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) return;
  const shape = ctx.model.shape(shapeName);
  let attrs = nsAttr(ref?.xmlNamespace);
  if (shape.type === 'structure') {
    if (!isObject(v)) return;
    if (!ref?.xmlNamespace && shape.xmlNamespace) attrs += nsAttr(shape.xmlNamespace);
    for (const m of ctx.model.members(shapeName)) {
      if (!m.ref.xmlAttribute) continue;
      const av = v[m.name];
      if (av === undefined || av === null) continue;
      // an attribute in a prefixed namespace declares it (S3 Grantee: xmlns:xsi + xsi:type)
      const ns = m.ref.xmlNamespace ?? ctx.model.shape(m.shape).xmlNamespace;
      if (ns?.prefix && !attrs.includes(`xmlns:${ns.prefix}=`)) attrs += nsAttr(ns);
      attrs += ` ${m.xmlName}="${escapeXml(scalarText(ctx, m.shape, m.ref, av))}"`;
    }
    ctx.xml += `<${name}${attrs}>`;
    writeMembers(ctx, shapeName, v, depth);
    ctx.xml += `</${name}>`;
    return;
  }
  if (shape.type === 'list') {
    const member = shape.member;
    if (!member) return;
    const items = toArray(v);
    if (items.length === 0) {
      ctx.xml += `<${name}${attrs}/>`;
      return;
    }
    const itemName = member.locationName ?? 'member';
    ctx.xml += `<${name}${attrs}>`;
    for (const item of items) {
      if (item === undefined || item === null) continue;
      writeElement(ctx, itemName, member.shape, member, item, depth + 1);
    }
    ctx.xml += `</${name}>`;
    return;
  }
  if (shape.type === 'map') {
    if (!shape.key || !shape.value || (!isObject(v) && !(v instanceof Map))) return;
    ctx.xml += `<${name}${attrs}>`;
    for (const [k, val] of mapEntries(v)) {
      if (val === undefined || val === null) continue;
      ctx.xml += '<entry>';
      writeElement(ctx, shape.key.locationName ?? 'key', shape.key.shape, shape.key, k, depth + 1);
      writeElement(ctx, shape.value.locationName ?? 'value', shape.value.shape, shape.value, val, depth + 1);
      ctx.xml += '</entry>';
    }
    ctx.xml += `</${name}>`;
    return;
  }
  ctx.xml += `<${name}${attrs}>${escapeXml(scalarText(ctx, shapeName, ref, v))}</${name}>`;
}

/** The text of a scalar value of shape `shapeName`. */
function scalarText(ctx: Ctx, shapeName: string, ref: RawMemberRef | undefined, v: unknown): string {
  const shape = ctx.model.shape(shapeName);
  switch (shape.type) {
    case 'boolean':
      return v === true || v === 'true' || v === 1 ? 'true' : 'false';
    case 'integer':
    case 'long':
      if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : '0';
      return String(v);
    case 'float':
    case 'double':
      if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
      return String(v);
    case 'timestamp':
      return formatTimestamp(v, (ref?.timestampFormat ?? shape.timestampFormat ?? ctx.ts) as TimestampStyle);
    case 'blob':
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      return Buffer.from(String(v), 'utf8').toString('base64');
    default: {
      const s = typeof v === 'string' ? v : String(v);
      return ctx.urlEncode.has(shapeName) ? encodeURIComponent(toWellFormed(s)) : s;
    }
  }
}

/** Replaces lone surrogates (encodeURIComponent throws on them). */
function toWellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Formats a timestamp: Date, epoch milliseconds (number/bigint) or a string (re-formatted when it parses as a date,
 * else written as given).
 */
export function formatTimestamp(v: unknown, style: TimestampStyle): string {
  let d: Date;
  if (v instanceof Date) d = v;
  else if (typeof v === 'number') d = new Date(v);
  else if (typeof v === 'bigint') d = new Date(Number(v));
  else {
    const s = String(v);
    const t = Date.parse(s);
    if (Number.isNaN(t)) return s;
    d = new Date(t);
  }
  if (Number.isNaN(d.getTime())) return '';
  switch (style) {
    case 'unixTimestamp':
      return String(d.getTime() / 1000);
    case 'rfc822':
      return d.toUTCString();
    case 'iso8601': {
      const iso = d.toISOString();
      return d.getUTCMilliseconds() === 0 ? `${iso.slice(0, 19)}Z` : iso;
    }
    default:
      return d.toISOString();
  }
}
