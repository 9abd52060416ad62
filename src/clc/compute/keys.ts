/**
 * @module clc/compute/keys
 * Key-pair cryptography, pure functions over `node:crypto`: creating RSA and ED25519 key pairs with their private key
 * in PEM (RSA: PKCS#1, ED25519: OpenSSH) or PuTTY PPK (v2) format, parsing imported public keys (OpenSSH line,
 * RFC 4716, PEM or base64 DER SubjectPublicKeyInfo), and fingerprints computed exactly as AWS does:
 * - created RSA: SHA-1 of the DER PKCS#8 private key, colon-separated hex;
 * - imported RSA: MD5 of the DER SubjectPublicKeyInfo public key, colon-separated hex (what
 *   `openssl pkey -pubin -outform DER | openssl md5 -c` prints — not `ssh-keygen -E md5`, which hashes the SSH blob);
 * - ED25519 (created or imported): base64 SHA-256 of the SSH public key blob (`ssh-keygen -l -E sha256`, with padding).
 */
import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export type KeyType = 'rsa' | 'ed25519';
export type KeyFormat = 'pem' | 'ppk';

export interface CreatedKeyPair {
  keyType: KeyType;
  /** The private key in the requested format (returned once, never stored). */
  keyMaterial: string;
  fingerprint: string;
  /** `ssh-rsa AAAA… name` — what instances get in authorized_keys and the metadata service. */
  publicKey: string;
}

export interface ImportedPublicKey {
  keyType: KeyType;
  fingerprint: string;
  publicKey: string;
  /** RSA modulus size in bits (0 for ED25519). */
  bits: number;
}

/** Thrown for material that is not a supported public key; the API maps it to `InvalidKey.Format`. */
export class KeyFormatError extends Error {}

// ---------------------------------------------------------------- SSH wire encoding

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([u32(b.length), b]);
}

/** An SSH mpint from an unsigned big-endian magnitude. */
function sshMpint(mag: Buffer): Buffer {
  let i = 0;
  while (i < mag.length && mag[i] === 0) i++;
  let m = mag.subarray(i);
  if (m.length > 0 && (m[0]! & 0x80) !== 0) m = Buffer.concat([Buffer.from([0]), m]);
  return sshString(m);
}

class SshReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.off + 4 > this.buf.length) throw new KeyFormatError('truncated key blob');
    const n = this.buf.readUInt32BE(this.off);
    this.off += 4;
    if (n > this.buf.length - this.off) throw new KeyFormatError('truncated key blob');
    const s = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return s;
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

const b64url = (s: string): Buffer => Buffer.from(s, 'base64url');
const colonHex = (b: Buffer): string => b.toString('hex').match(/../g)!.join(':');

function jwkOf(key: KeyObject): Record<string, string> {
  return key.export({ format: 'jwk' }) as unknown as Record<string, string>;
}

/** The SSH public key blob (`ssh-rsa` e n, or `ssh-ed25519` pub). */
export function sshPublicBlob(key: KeyObject): Buffer {
  const jwk = jwkOf(key);
  if (key.asymmetricKeyType === 'rsa') {
    return Buffer.concat([sshString('ssh-rsa'), sshMpint(b64url(jwk.e!)), sshMpint(b64url(jwk.n!))]);
  }
  if (key.asymmetricKeyType === 'ed25519') {
    return Buffer.concat([sshString('ssh-ed25519'), sshString(b64url(jwk.x!))]);
  }
  throw new KeyFormatError(`unsupported key type ${key.asymmetricKeyType ?? '?'}`);
}

function opensshLine(blob: Buffer, comment: string): string {
  const alg = new SshReader(blob).string().toString('latin1');
  return `${alg} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

export function sha256Fingerprint(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64');
}

// ---------------------------------------------------------------- creating

/** Creates a key pair as CreateKeyPair does. `name` becomes the key's comment. */
export function createKeyPair(keyType: KeyType, format: KeyFormat, name: string): CreatedKeyPair {
  if (keyType === 'rsa') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    const fingerprint = colonHex(createHash('sha1').update(pkcs8).digest());
    const blob = sshPublicBlob(publicKey);
    const keyMaterial =
      format === 'pem' ? String(privateKey.export({ type: 'pkcs1', format: 'pem' })).trimEnd() : ppkV2(privateKey, blob, name);
    return { keyType, keyMaterial, fingerprint, publicKey: opensshLine(blob, name) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const blob = sshPublicBlob(publicKey);
  const keyMaterial = format === 'pem' ? opensshPrivateEd25519(privateKey, blob, name) : ppkV2(privateKey, blob, name);
  return { keyType, keyMaterial, fingerprint: sha256Fingerprint(blob), publicKey: opensshLine(blob, name) };
}

function armor(label: string, der: Buffer, width: number): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

/** The OpenSSH private key format (`openssh-key-v1`, unencrypted) for an ED25519 key. */
export function opensshPrivateEd25519(privateKey: KeyObject, pubBlob: Buffer, comment: string): string {
  const jwk = jwkOf(privateKey);
  const seed = b64url(jwk.d!);
  const pub = b64url(jwk.x!);
  const check = randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  return armor('OPENSSH PRIVATE KEY', body, 70);
}

/** The PuTTY private key file, version 2, unencrypted (what EC2 returns for `KeyFormat=ppk`). */
export function ppkV2(privateKey: KeyObject, pubBlob: Buffer, comment: string): string {
  const jwk = jwkOf(privateKey);
  let alg: string;
  let privBlob: Buffer;
  if (privateKey.asymmetricKeyType === 'rsa') {
    alg = 'ssh-rsa';
    privBlob = Buffer.concat([sshMpint(b64url(jwk.d!)), sshMpint(b64url(jwk.p!)), sshMpint(b64url(jwk.q!)), sshMpint(b64url(jwk.qi!))]);
  } else {
    alg = 'ssh-ed25519';
    // PuTTY stores the EdDSA private scalar as a little-endian unsigned integer: the 32-byte seed, high zero bytes dropped.
    const seed = b64url(jwk.d!);
    let n = seed.length;
    while (n > 0 && seed[n - 1] === 0) n--;
    privBlob = sshString(seed.subarray(0, n));
  }
  const enc = 'none';
  const macKey = createHash('sha1').update('putty-private-key-file-mac-key').digest();
  const macData = Buffer.concat([sshString(alg), sshString(enc), sshString(comment), sshString(pubBlob), sshString(privBlob)]);
  const mac = createHmac('sha1', macKey).update(macData).digest('hex');
  const lines = (b: Buffer): string[] => {
    const s = b.toString('base64');
    const out: string[] = [];
    for (let i = 0; i < s.length; i += 64) out.push(s.slice(i, i + 64));
    return out;
  };
  const pubLines = lines(pubBlob);
  const privLines = lines(privBlob);
  return [
    `PuTTY-User-Key-File-2: ${alg}`,
    `Encryption: ${enc}`,
    `Comment: ${comment}`,
    `Public-Lines: ${pubLines.length}`,
    ...pubLines,
    `Private-Lines: ${privLines.length}`,
    ...privLines,
    `Private-MAC: ${mac}`,
  ].join('\n');
}

// ---------------------------------------------------------------- importing

const MIN_RSA_BITS = 1024;
const MAX_RSA_BITS = 4096;

/**
 * Parses public key material as ImportKeyPair accepts it: an OpenSSH public key line, an RFC 4716 SSH2 public key,
 * a PEM `PUBLIC KEY` / `RSA PUBLIC KEY`, or base64 DER SubjectPublicKeyInfo. RSA (1024–4096 bits) and ED25519.
 */
export function importPublicKey(material: Buffer | string, comment = ''): ImportedPublicKey {
  const text = (typeof material === 'string' ? material : Buffer.from(material).toString('utf8')).trim();
  if (!text) throw new KeyFormatError('empty key material');
  let blob: Buffer | undefined;
  let key: KeyObject | undefined;

  const line = /^(ssh-rsa|ssh-ed25519)\s+([A-Za-z0-9+/=]+)(?:\s+(.*))?$/.exec(text);
  if (line) {
    blob = Buffer.from(line[2]!, 'base64');
    const declared = new SshReader(blob).string().toString('latin1');
    if (declared !== line[1]) throw new KeyFormatError('key type does not match the key blob');
  } else if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    blob = parseRfc4716(text);
  } else if (text.startsWith('-----BEGIN')) {
    try {
      key = createPublicKey(text);
    } catch (e) {
      throw new KeyFormatError(`not a public key: ${(e as Error).message}`);
    }
  } else if (/^[A-Za-z0-9+/=\s]+$/.test(text)) {
    const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      // maybe a bare SSH blob in base64
      blob = der;
    }
  } else {
    throw new KeyFormatError('unrecognised public key format');
  }

  if (blob) key = keyFromSshBlob(blob);
  if (!key) throw new KeyFormatError('unrecognised public key format');
  if (key.type === 'private') key = createPublicKey(key);
  const canonicalBlob = sshPublicBlob(key);
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw new KeyFormatError(`RSA key length ${bits} is not supported`);
    const spki = key.export({ type: 'spki', format: 'der' });
    return { keyType: 'rsa', bits, fingerprint: colonHex(createHash('md5').update(spki).digest()), publicKey: opensshLine(canonicalBlob, comment) };
  }
  return { keyType: 'ed25519', bits: 0, fingerprint: sha256Fingerprint(canonicalBlob), publicKey: opensshLine(canonicalBlob, comment) };
}

function parseRfc4716(text: string): Buffer {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const end = lines.indexOf('---- END SSH2 PUBLIC KEY ----');
  if (end < 0) throw new KeyFormatError('RFC 4716 key without END line');
  let body = '';
  let continued = false;
  for (const l of lines.slice(1, end)) {
    if (continued) {
      continued = l.endsWith('\\');
      continue;
    }
    if (/^[A-Za-z0-9-]{1,64}:/.test(l)) {
      continued = l.endsWith('\\');
      continue;
    }
    body += l;
  }
  return Buffer.from(body, 'base64');
}

function keyFromSshBlob(blob: Buffer): KeyObject {
  const r = new SshReader(blob);
  const alg = r.string().toString('latin1');
  try {
    if (alg === 'ssh-rsa') {
      const e = r.string();
      const n = r.string();
      if (!r.done()) throw new KeyFormatError('trailing data in key blob');
      const strip = (b: Buffer) => {
        let i = 0;
        while (i < b.length - 1 && b[i] === 0) i++;
        return b.subarray(i).toString('base64url');
      };
      return createPublicKey({ key: { kty: 'RSA', n: strip(n), e: strip(e) }, format: 'jwk' });
    }
    if (alg === 'ssh-ed25519') {
      const pub = r.string();
      if (pub.length !== 32 || !r.done()) throw new KeyFormatError('bad ed25519 key');
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') }, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof KeyFormatError) throw e;
    throw new KeyFormatError(`invalid ${alg} key: ${(e as Error).message}`);
  }
  throw new KeyFormatError(`unsupported key type ${alg}`);
}
