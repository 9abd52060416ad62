/**
 * @module api/s3/post
 * Browser POST uploads: a multipart/form-data body whose fields carry the key, a base64 policy document and its
 * signature (SigV4: `x-amz-credential`/`x-amz-date`/`x-amz-signature` over the policy; SigV2: `AWSAccessKeyId` +
 * `signature`), then the file, which is streamed into a blob like any PUT. The policy's expiration and conditions
 * are enforced (bucket, key and field equality / starts-with, content-length-range).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AwsError, type CredentialStore } from '../../shared/index.js';
import { signingKey } from '../../auth/sigv4/index.js';
import { cannedAcl, type ObjectHeaders, type ObjectVersion } from '../../walrus/index.js';
import { sendEmpty, sendRaw, type S3Context } from './context.js';
import { escapeXml } from '../../protocol/index.js';
import { authorizeAction } from './handler.js';
import { ANONYMOUS } from './authz.js';

const MAX_FIELDS_BYTES = 64 * 1024;

function indexOf(buf: Buffer, needle: Buffer, from = 0): number {
  return buf.indexOf(needle, from);
}

/**
 * Streams a multipart/form-data body: resolves with the fields before the `file` part and an iterator over the file
 * bytes. Fields after the file are ignored, as S3 does.
 */
async function readForm(source: AsyncIterable<Uint8Array>, boundary: string): Promise<{ fields: Map<string, string>; file?: { name: string; contentType?: string; data: AsyncGenerator<Uint8Array> } }> {
  const it = source[Symbol.asyncIterator]();
  const delim = Buffer.from(`\r\n--${boundary}`);
  let buf = Buffer.from('\r\n');
  const more = async (): Promise<boolean> => {
    const r = await it.next();
    if (r.done) return false;
    buf = Buffer.concat([buf, Buffer.from(r.value)]);
    if (buf.length > MAX_FIELDS_BYTES * 2 && indexOf(buf, delim) < 0) throw new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
    return true;
  };
  const fields = new Map<string, string>();
  let fieldBytes = 0;
  for (;;) {
    let i = indexOf(buf, delim);
    while (i < 0) {
      if (!(await more())) throw new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
      i = indexOf(buf, delim);
    }
    buf = buf.subarray(i + delim.length);
    while (buf.length < 2) if (!(await more())) break;
    if (buf.subarray(0, 2).toString() === '--') return { fields };
    let h = indexOf(buf, Buffer.from('\r\n\r\n'));
    while (h < 0) {
      if (!(await more())) throw new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
      h = indexOf(buf, Buffer.from('\r\n\r\n'));
    }
    const head = buf.subarray(2, h).toString('utf8');
    buf = buf.subarray(h + 4);
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    const ctype = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim();
    if (name.toLowerCase() === 'file' || filename !== undefined) {
      const data = async function* (): AsyncGenerator<Uint8Array> {
        for (;;) {
          const j = indexOf(buf, delim);
          if (j >= 0) {
            if (j > 0) yield buf.subarray(0, j);
            return;
          }
          const keep = delim.length;
          if (buf.length > keep) {
            yield buf.subarray(0, buf.length - keep);
            buf = buf.subarray(buf.length - keep);
          }
          const r = await it.next();
          if (r.done) throw new AwsError('IncompleteBody', 'The request body terminated unexpectedly');
          buf = Buffer.concat([buf, Buffer.from(r.value)]);
        }
      };
      return { fields, file: { name: filename ?? '', ...(ctype ? { contentType: ctype } : {}), data: data() } };
    }
    let j = indexOf(buf, delim);
    while (j < 0) {
      if (!(await more())) throw new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
      j = indexOf(buf, delim);
    }
    const value = buf.subarray(0, j).toString('utf8');
    fieldBytes += value.length;
    if (fieldBytes > MAX_FIELDS_BYTES) throw new AwsError('MaxPostPreDataLengthExceeded', 'Your POST request fields preceeding the upload file was too large.');
    fields.set(name.toLowerCase(), value);
    buf = buf.subarray(j);
  }
}

function policyError(msg: string): AwsError {
  return new AwsError('AccessDenied', `Invalid according to Policy: ${msg}`, { status: 403 });
}

/** Checks the policy's expiration and conditions against the form fields; returns content-length-range. */
function checkPolicy(policyB64: string, fields: Map<string, string>, bucket: string): [number, number] | undefined {
  let doc: { expiration?: string; conditions?: unknown[] };
  try {
    doc = JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8')) as typeof doc;
  } catch {
    throw new AwsError('InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  }
  const exp = doc.expiration ? Date.parse(doc.expiration) : NaN;
  if (Number.isNaN(exp)) throw new AwsError('InvalidPolicyDocument', 'Invalid Policy: Invalid \'expiration\' value.');
  if (exp < Date.now()) throw policyError('Policy expired.');
  let range: [number, number] | undefined;
  const value = (name: string) => (name === 'bucket' ? bucket : fields.get(name));
  const covered = new Set<string>(['bucket']);
  for (const c of doc.conditions ?? []) {
    if (Array.isArray(c)) {
      const [op, a, b] = c as [string, unknown, unknown];
      if (String(op).toLowerCase() === 'content-length-range') {
        range = [Number(a), Number(b)];
        continue;
      }
      const name = String(a).replace(/^\$/, '').toLowerCase();
      covered.add(name);
      const v = value(name) ?? '';
      if (String(op).toLowerCase() === 'eq' && v !== String(b)) throw policyError(`Policy Condition failed: ["eq", "$${name}", "${String(b)}"]`);
      if (String(op).toLowerCase() === 'starts-with' && !v.startsWith(String(b))) throw policyError(`Policy Condition failed: ["starts-with", "$${name}", "${String(b)}"]`);
    } else if (c && typeof c === 'object') {
      for (const [k, want] of Object.entries(c as Record<string, unknown>)) {
        const name = k.toLowerCase();
        covered.add(name);
        if ((value(name) ?? '') !== String(want)) throw policyError(`Policy Condition failed: ["eq", "$${name}", "${String(want)}"]`);
      }
    }
  }
  for (const f of fields.keys()) {
    if (['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file', 'x-amz-security-token'].includes(f) || f.startsWith('x-ignore-')) continue;
    if (!covered.has(f)) throw policyError(`Extra input fields: ${f}`);
  }
  return range;
}

/** Verifies the form's signature over the policy; returns the caller (anonymous when the form is unsigned). */
async function formPrincipal(ctx: S3Context, fields: Map<string, string>, credentials?: CredentialStore) {
  const policy = fields.get('policy');
  const sig4 = fields.get('x-amz-signature');
  const sig2 = fields.get('signature');
  if (!policy) {
    if (sig4 || sig2) throw new AwsError('InvalidArgument', 'Bucket POST must contain a field named \'policy\'.');
    return ANONYMOUS;
  }
  if (!credentials) throw new AwsError('NotImplemented', 'Signed POST uploads need a credential store', { status: 501 });
  const denied = () => new AwsError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { status: 403 });
  if (sig4) {
    const cred = fields.get('x-amz-credential') ?? '';
    const [akid, date, region, service] = cred.split('/');
    const id = akid ? await credentials.lookup(akid) : null;
    if (!id || !date || !region || !service) throw new AwsError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { status: 403 });
    const expect = createHmac('sha256', signingKey(id.secretAccessKey, date, region, service)).update(policy).digest('hex');
    if (expect.length !== sig4.length || !timingSafeEqual(Buffer.from(expect), Buffer.from(sig4))) throw denied();
    return id.principal;
  }
  const akid = fields.get('awsaccesskeyid') ?? '';
  const id = akid ? await credentials.lookup(akid) : null;
  if (!id || !sig2) throw new AwsError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { status: 403 });
  const expect = createHmac('sha1', id.secretAccessKey).update(policy).digest('base64');
  if (expect.length !== sig2.length || !timingSafeEqual(Buffer.from(expect), Buffer.from(sig2))) throw denied();
  return id.principal;
}

export async function postObject(ctx: S3Context, credentials?: CredentialStore): Promise<void> {
  const bucketName = ctx.route.bucket;
  if (bucketName === undefined) throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405 });
  const ct = ctx.req.headers['content-type'] ?? '';
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(ct);
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) throw new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
  const bucket = await ctx.walrus.getBucket(bucketName);
  const { fields, file } = await readForm(ctx.req, b.trim());
  if (!file) throw new AwsError('InvalidArgument', 'POST requires exactly one file upload per request.', { fields: { ArgumentName: 'file', ArgumentValue: '0' } });
  let key = fields.get('key');
  if (key === undefined) throw new AwsError('InvalidArgument', 'Bucket POST must contain a field named \'key\'.  If it is specified, please check the order of the fields.', { fields: { ArgumentName: 'key' } });
  key = key.replace(/\$\{filename\}/g, file.name);
  fields.set('key', key);
  const principal = await formPrincipal(ctx, fields, credentials);
  const range = fields.has('policy') ? checkPolicy(fields.get('policy')!, fields, bucketName) : undefined;
  const c: S3Context = { ...ctx, principal };
  await authorizeAction(c, bucket, 's3:PutObject', key, 'PutObject');
  const owner = { accountId: principal.kind === 'anonymous' ? bucket.owner.accountId : principal.accountId, displayName: principal.accountAlias ?? principal.accountId };
  const acl = cannedAcl(fields.get('acl') ?? 'private', owner, bucket.owner);
  const headers: ObjectHeaders = {};
  for (const h of ['content-type', 'content-encoding', 'content-disposition', 'cache-control', 'expires'] as const) {
    const v = fields.get(h);
    if (v !== undefined) headers[h] = v;
  }
  if (!headers['content-type'] && file.contentType) headers['content-type'] = file.contentType;
  const metadata: Record<string, string> = {};
  for (const [k, v] of fields) if (k.startsWith('x-amz-meta-')) metadata[k.slice(11)] = v;
  const r = await ctx.blobs.write(file.data, { maxSize: range ? range[1] : 5 * 1024 ** 3 });
  let v: ObjectVersion;
  try {
    if (range && r.size < range[0]) throw new AwsError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
    v = await ctx.walrus.commitObject(bucketName, key, {
      owner, size: r.size, etag: r.md5, headers, metadata, checksums: { values: {} }, blobs: [{ id: r.blobId, size: r.size }], acl, tagging: null,
    });
  } catch (e) {
    await ctx.blobs.delete(r.blobId);
    throw e;
  }
  // drain whatever follows the file part
  ctx.req.resume();
  const etag = `"${v.etag}"`;
  const h: Record<string, string> = { etag, location: `${ctx.baseUrl}/${bucketName}/${encodeURIComponent(key)}` };
  if (bucket.versioning !== '') h['x-amz-version-id'] = v.versionId;
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect) {
    const u = new URL(redirect);
    u.searchParams.set('bucket', bucketName);
    u.searchParams.set('key', key);
    u.searchParams.set('etag', etag);
    sendEmpty(ctx, 303, { ...h, location: u.toString() });
    return;
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    const x = `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>${escapeXml(h.location!)}</Location><Bucket>${escapeXml(bucketName)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(etag)}</ETag></PostResponse>`;
    sendRaw(ctx, x, 'application/xml', 201, h);
    return;
  }
  sendEmpty(ctx, status === '200' ? 200 : 204, h);
}
