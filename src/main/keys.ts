/**
 * @module main/keys
 * The cloud's own key pair and certificate (Eucalyptus's cloud-pk.pem / cloud-cert.pem), made once by `euca init`.
 * Used to sign instance-identity documents and internal messages.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export interface CloudKeys { keyFile: string; certFile: string }

export function ensureCloudKeys(dataDir: string, commonName = 'eucalyptus-ts cloud'): CloudKeys {
  const dir = join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'cloud-pk.pem');
  const certFile = join(dir, 'cloud-cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
      '-days', '3650', '-subj', `/CN=${commonName}/O=Eucalyptus-TS`], { stdio: 'ignore' });
    chmodSync(keyFile, 0o600);
  }
  return { keyFile, certFile };
}
