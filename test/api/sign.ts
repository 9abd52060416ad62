/** Test helper: send a raw SigV4-signed query-API request (for inputs the SDKs refuse to build). */
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from './sha256.js';

export async function signedFetch(url: string, service: string, creds: { accessKeyId: string; secretAccessKey: string }, body: string, opts: { region?: string; method?: string } = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const u = new URL(url);
  const signer = new SignatureV4({ service, region: opts.region ?? 'eucalyptus', credentials: creds, sha256: Sha256 });
  const req = await signer.sign({
    method: opts.method ?? 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: u.pathname, query: {},
    headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  });
  const headers = { ...req.headers } as Record<string, string>;
  delete headers.host;
  const res = await fetch(url, { method: req.method, headers, body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
