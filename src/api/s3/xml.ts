/**
 * @module api/s3/xml
 * S3's XML: responses through the model-driven writer (`writeShapeXml`) with S3's root tags and namespace, error
 * bodies, and a safe reader for request bodies (DOCTYPE refused as MalformedXML, no entity expansion, values kept
 * exactly as sent: no trimming, no number parsing).
 */
import { XMLParser } from 'fast-xml-parser';
import { writeShapeXml, escapeXml } from '../../protocol/index.js';
import { AwsError } from '../../shared/index.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Output shape → the root element AWS writes (the model has none for S3). */
export const ROOT_TAGS: Record<string, string> = {
  ListBucketsOutput: 'ListAllMyBucketsResult',
  ListObjectsOutput: 'ListBucketResult',
  ListObjectsV2Output: 'ListBucketResult',
  ListObjectVersionsOutput: 'ListVersionsResult',
  ListMultipartUploadsOutput: 'ListMultipartUploadsResult',
  ListPartsOutput: 'ListPartsResult',
  CreateMultipartUploadOutput: 'InitiateMultipartUploadResult',
  CompleteMultipartUploadOutput: 'CompleteMultipartUploadResult',
  CopyObjectResult: 'CopyObjectResult',
  CopyPartResult: 'CopyPartResult',
  DeleteObjectsOutput: 'DeleteResult',
  GetBucketAclOutput: 'AccessControlPolicy',
  GetObjectAclOutput: 'AccessControlPolicy',
  GetBucketCorsOutput: 'CORSConfiguration',
  GetBucketLifecycleConfigurationOutput: 'LifecycleConfiguration',
  GetBucketTaggingOutput: 'Tagging',
  GetObjectTaggingOutput: 'Tagging',
  GetBucketVersioningOutput: 'VersioningConfiguration',
};

/** Serializes `value` (member names of `shape`) as S3 does: declaration, root tag, xmlns. */
export function s3Xml(shape: string, value: unknown): string {
  return writeShapeXml('s3', shape, value, { rootName: ROOT_TAGS[shape] ?? shape, xmlns: S3_NS, declaration: true });
}

/** S3 writes timestamps with whole seconds: `2026-11-27T08:00:00.000Z`. */
export function s3Time(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export function errorXml(e: AwsError, requestId: string, hostId: string, resource?: string): string {
  const parts = [`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(e.code)}</Code><Message>${escapeXml(e.message)}</Message>`];
  for (const [k, v] of Object.entries(e.fields)) parts.push(`<${k}>${escapeXml(v)}</${k}>`);
  if (resource !== undefined && !('Resource' in e.fields)) parts.push(`<Resource>${escapeXml(resource)}</Resource>`);
  parts.push(`<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`);
  return parts.join('');
}

export function malformedXml(): AwsError {
  return new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
}

/** Elements that are lists in S3 request bodies (a single occurrence still becomes an array). */
const LIST_ELEMENTS = new Set([
  'Part', 'Object', 'Tag', 'CORSRule', 'Rule', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader', 'Grant',
  'Transition', 'NoncurrentVersionTransition',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  isArray: (name) => LIST_ELEMENTS.has(name),
});

export type XmlNode = { [k: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[] | undefined;

/** Parses a small S3 request body; returns the element named `root` (namespace prefixes dropped). */
export function parseXmlBody(body: Buffer | string, root: string): XmlNode {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw malformedXml();
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch {
    throw malformedXml();
  }
  const node = (doc as Record<string, unknown>)[root];
  if (node === undefined) throw malformedXml();
  if (node === '' || typeof node === 'string') return {};
  return node as XmlNode;
}

/** Text of a child element ('' for `<X/>`, undefined when absent). Whitespace is kept. */
export function text(n: XmlValue, k: string): string | undefined {
  if (!n || typeof n !== 'object' || Array.isArray(n)) return undefined;
  const v = n[k];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return text({ x: v[0] }, 'x');
  const t = v['#text'];
  return typeof t === 'string' ? t : '';
}

export function child(n: XmlValue, k: string): XmlNode | undefined {
  if (!n || typeof n !== 'object' || Array.isArray(n)) return undefined;
  const v = n[k];
  if (Array.isArray(v)) return (v[0] as XmlNode) ?? undefined;
  if (v === '') return {};
  return v && typeof v === 'object' ? v : undefined;
}

export function children(n: XmlValue, k: string): XmlNode[] {
  if (!n || typeof n !== 'object' || Array.isArray(n)) return [];
  const v = n[k];
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (typeof x === 'object' && x && !Array.isArray(x) ? x : ({ '#text': x as string } as XmlNode)));
}

export function texts(n: XmlValue, k: string): string[] {
  return children(n, k).map((c) => (typeof c['#text'] === 'string' ? c['#text'] : ''));
}
