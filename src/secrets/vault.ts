/**
 * vault.json: the media's encrypted secrets (share user, domain and password; optionally the Veeam backup
 * encryption password).
 *
 * Format version 1:
 * ```json
 * { "format": "lifeboat-vault", "version": 1, "siteId": "muster-stb",
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>" },
 *   "cipher": "aes-256-gcm", "iv": "<base64, 12 bytes>", "tag": "<base64, 16 bytes>", "ciphertext": "<base64>" }
 * ```
 * key = scrypt(unlock secret (UTF-8, NFC), salt, 32, {N, r, p}); AES-256-GCM with additional authenticated data
 * `JSON.stringify({siteId, version})`, so a vault copied to another site or relabelled as another version fails to
 * open. The site id is also stored in clear to say precisely which site a vault belongs to; the AAD makes editing
 * it useless. The plaintext is JSON: `{"share":{"user","domain"?,"password"},"veeamEncryptionPassword"?}`.
 *
 * openVault treats vault.json as hostile: size-capped, every field checked, KDF parameters bounded so a crafted file
 * cannot make the assistant allocate gigabytes or spin for hours.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { InputError } from '../errors.js';
import { Secret } from './secret.js';

export const VAULT_FORMAT = 'lifeboat-vault';
export const VAULT_VERSION = 1;
export const VAULT_CIPHER = 'aes-256-gcm';
/** KDF cost used when sealing. */
export const DEFAULT_KDF = { N: 2 ** 17, r: 8, p: 1 } as const;
/** Bounds accepted when opening (a vault is hostile input). */
export const KDF_LIMITS = {
  minN: 2 ** 17,
  maxN: 2 ** 20,
  minR: 8,
  maxR: 32,
  minP: 1,
  maxP: 16,
  /** scrypt needs about 128 * N * r bytes. */
  maxMemoryBytes: 512 * 1024 * 1024,
  /** Work relative to the default parameters: N * r * p at most this many times the default. */
  maxWorkFactor: 16,
} as const;
/** Largest vault.json accepted. Real ones are under 1 KiB. */
export const MAX_VAULT_BYTES = 64 * 1024;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface VaultKdf {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
}

/** vault.json as stored. */
export interface VaultFile {
  format: typeof VAULT_FORMAT;
  version: typeof VAULT_VERSION;
  siteId: string;
  kdf: VaultKdf;
  cipher: typeof VAULT_CIPHER;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** What the vault holds. */
export interface VaultPayload {
  share: { user: string; domain?: string; password: Secret };
  veeamEncryptionPassword?: Secret;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/** Any problem opening a vault (exit 2: the media or the typed secret is wrong, not the program). */
export class VaultError extends InputError {}

/** vault.json is not a well-formed vault; `field` names the offending field. */
export class VaultFormatError extends VaultError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(
      `vault.json: ${field ? `${field}: ` : ''}${problem}`,
      'The media is damaged or was not made by Lifeboat: build it again with lifeboat build.',
    );
  }
}

/** The vault has a format version this Lifeboat does not know. */
export class VaultVersionError extends VaultError {
  constructor(readonly version: unknown) {
    super(
      `vault.json has format version ${JSON.stringify(version)}; this Lifeboat reads version ${VAULT_VERSION}`,
      typeof version === 'number' && version > VAULT_VERSION
        ? 'This media was built by a newer Lifeboat: use that version (or rebuild the media with this one).'
        : 'The media is damaged: build it again with lifeboat build.',
    );
  }
}

/** The vault belongs to another site. */
export class VaultSiteMismatchError extends VaultError {
  constructor(
    readonly vaultSiteId: string,
    readonly expectedSiteId: string,
  ) {
    super(
      `this vault belongs to site "${vaultSiteId}", not to "${expectedSiteId}"`,
      'Use the recovery media built for this site (its vault and site.json must come from the same build).',
    );
  }
}

/** Decryption failed: the unlock secret is wrong or the vault was altered (AES-GCM cannot tell them apart). */
export class VaultUnlockError extends VaultError {
  constructor() {
    super(
      'cannot unlock the vault: wrong unlock secret or the vault was altered',
      'Check the recovery code on the sealed page of the manual (or the passphrase) and type it again; if it is ' +
        'right, the media was changed or damaged: use another copy or build it again.',
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Seal and open
// ---------------------------------------------------------------------------------------------------------------

export interface SealOptions {
  /** KDF cost; defaults to DEFAULT_KDF. Must be within KDF_LIMITS. */
  kdf?: { N: number; r: number; p: number };
}

/** Encrypts the payload for `siteId` under the unlock secret. */
export async function sealVault(
  payload: VaultPayload,
  unlock: Secret,
  siteId: string,
  options: SealOptions = {},
): Promise<VaultFile> {
  checkSiteId(siteId);
  if (unlock.isEmpty) throw new InputError('the unlock secret is empty');
  const { N, r, p } = options.kdf ?? DEFAULT_KDF;
  checkKdfParams(N, r, p);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await deriveKey(unlock, salt, N, r, p);
  const plaintext = Buffer.from(serialisePayload(payload), 'utf8');
  try {
    const cipher = createCipheriv(VAULT_CIPHER, key, iv);
    cipher.setAAD(aad(siteId, VAULT_VERSION));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      format: VAULT_FORMAT,
      version: VAULT_VERSION,
      siteId,
      kdf: { name: 'scrypt', N, r, p, salt: salt.toString('base64') },
      cipher: VAULT_CIPHER,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  } finally {
    plaintext.fill(0);
    key.fill(0);
  }
}

/** vault.json text for a sealed vault. */
export function serialiseVault(vault: VaultFile): string {
  return `${JSON.stringify(vault, null, 2)}\n`;
}

/**
 * Checks that `json` (vault.json text, bytes or parsed value) is a well-formed vault without unlocking it:
 * used by `lifeboat verify` and as the first step of openVault.
 */
export function parseVault(json: string | Uint8Array | unknown): VaultFile {
  let value: unknown = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    const size = typeof json === 'string' ? Buffer.byteLength(json, 'utf8') : json.byteLength;
    if (size > MAX_VAULT_BYTES) throw new VaultFormatError('', `is ${size} bytes; a vault has at most ${MAX_VAULT_BYTES}`);
    const text = typeof json === 'string' ? json : Buffer.from(json).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new VaultFormatError('', `is not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isObject(value)) throw new VaultFormatError('', 'must be a JSON object');
  if (value.format !== VAULT_FORMAT) {
    throw new VaultFormatError('format', `expected "${VAULT_FORMAT}", got ${describe(value.format)}`);
  }
  if (value.version !== VAULT_VERSION) {
    if (typeof value.version !== 'number' || !Number.isInteger(value.version)) {
      throw new VaultFormatError('version', `expected a whole number, got ${describe(value.version)}`);
    }
    throw new VaultVersionError(value.version);
  }
  const siteId = value.siteId;
  if (typeof siteId !== 'string' || !SITE_ID.test(siteId)) {
    throw new VaultFormatError('siteId', `expected a site id (lowercase letters, digits, dashes), got ${describe(siteId)}`);
  }
  const kdf = value.kdf;
  if (!isObject(kdf)) throw new VaultFormatError('kdf', 'must be an object');
  if (kdf.name !== 'scrypt') throw new VaultFormatError('kdf.name', `expected "scrypt", got ${describe(kdf.name)}`);
  for (const param of ['N', 'r', 'p'] as const) {
    const v = kdf[param];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new VaultFormatError(`kdf.${param}`, `expected a positive whole number, got ${describe(v)}`);
    }
  }
  const N = kdf.N as number;
  const r = kdf.r as number;
  const p = kdf.p as number;
  checkKdfParams(N, r, p, true);
  base64Field(kdf.salt, 'kdf.salt', { min: SALT_BYTES, max: 64 });
  if (value.cipher !== VAULT_CIPHER) {
    throw new VaultFormatError('cipher', `expected "${VAULT_CIPHER}", got ${describe(value.cipher)}`);
  }
  base64Field(value.iv, 'iv', { min: IV_BYTES, max: IV_BYTES });
  base64Field(value.tag, 'tag', { min: TAG_BYTES, max: TAG_BYTES });
  base64Field(value.ciphertext, 'ciphertext', { min: 1, max: MAX_VAULT_BYTES });
  const known = new Set(['format', 'version', 'siteId', 'kdf', 'cipher', 'iv', 'tag', 'ciphertext']);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new VaultFormatError(key, 'unknown field');
  }
  for (const key of Object.keys(kdf)) {
    if (!['name', 'N', 'r', 'p', 'salt'].includes(key)) throw new VaultFormatError(`kdf.${key}`, 'unknown field');
  }
  return {
    format: VAULT_FORMAT,
    version: VAULT_VERSION,
    siteId,
    kdf: { name: 'scrypt', N, r, p, salt: kdf.salt as string },
    cipher: VAULT_CIPHER,
    iv: value.iv as string,
    tag: value.tag as string,
    ciphertext: value.ciphertext as string,
  };
}

/**
 * Opens a vault for `siteId` with the unlock secret. Throws VaultFormatError, VaultVersionError,
 * VaultSiteMismatchError or VaultUnlockError (all InputError).
 */
export async function openVault(json: string | Uint8Array | unknown, unlock: Secret, siteId: string): Promise<VaultPayload> {
  const vault = parseVault(json);
  if (vault.siteId !== siteId) throw new VaultSiteMismatchError(vault.siteId, siteId);
  if (unlock.isEmpty) throw new VaultUnlockError();
  const salt = Buffer.from(vault.kdf.salt, 'base64');
  const key = await deriveKey(unlock, salt, vault.kdf.N, vault.kdf.r, vault.kdf.p);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv(VAULT_CIPHER, key, Buffer.from(vault.iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(siteId, vault.version));
    decipher.setAuthTag(Buffer.from(vault.tag, 'base64'));
    plaintext = Buffer.concat([decipher.update(Buffer.from(vault.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw new VaultUnlockError();
  } finally {
    key.fill(0);
  }
  try {
    return parsePayload(plaintext);
  } finally {
    plaintext.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------

const SITE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

function checkSiteId(siteId: string): void {
  if (!SITE_ID.test(siteId) || siteId.length > 40) {
    throw new InputError(`"${siteId}" is not a site id (lowercase letters, digits and dashes)`);
  }
}

function aad(siteId: string, version: number): Buffer {
  return Buffer.from(JSON.stringify({ siteId, version }), 'utf8');
}

/** Rejects KDF parameters outside KDF_LIMITS; `opening` words the error for a vault file. */
function checkKdfParams(N: number, r: number, p: number, opening = false): void {
  const fail = (field: string, problem: string): never => {
    if (opening) throw new VaultFormatError(`kdf.${field}`, problem);
    throw new RangeError(`scrypt ${field}: ${problem}`);
  };
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) fail('N', `must be a power of 2, got ${N}`);
  if (N < KDF_LIMITS.minN) fail('N', `${N} is too weak; at least ${KDF_LIMITS.minN} (2^17) is required`);
  if (N > KDF_LIMITS.maxN) fail('N', `${N} is larger than the ${KDF_LIMITS.maxN} (2^20) this Lifeboat accepts`);
  if (!Number.isSafeInteger(r) || r < KDF_LIMITS.minR || r > KDF_LIMITS.maxR) {
    fail('r', `must be between ${KDF_LIMITS.minR} and ${KDF_LIMITS.maxR}, got ${r}`);
  }
  if (!Number.isSafeInteger(p) || p < KDF_LIMITS.minP || p > KDF_LIMITS.maxP) {
    fail('p', `must be between ${KDF_LIMITS.minP} and ${KDF_LIMITS.maxP}, got ${p}`);
  }
  if (128 * N * r > KDF_LIMITS.maxMemoryBytes) {
    fail('r', `N=${N} with r=${r} needs ${(128 * N * r) / 2 ** 20} MiB; at most ${KDF_LIMITS.maxMemoryBytes / 2 ** 20} MiB is allowed`);
  }
  const work = (N * r * p) / (DEFAULT_KDF.N * DEFAULT_KDF.r * DEFAULT_KDF.p);
  if (work > KDF_LIMITS.maxWorkFactor) {
    fail('p', `N=${N}, r=${r}, p=${p} is ${work} times the default work; at most ${KDF_LIMITS.maxWorkFactor} is allowed`);
  }
}

async function deriveKey(unlock: Secret, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // NFC so that a passphrase typed on another keyboard layout / OS (composed vs decomposed accents) still matches.
  const secret = Buffer.from(unlock.reveal().normalize('NFC'), 'utf8');
  const options: ScryptOptions = { N, r, p, maxmem: 128 * N * r * 2 + 32 * 1024 * 1024 };
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      scryptCallback(secret, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
    });
  } finally {
    secret.fill(0);
  }
}

function serialisePayload(payload: VaultPayload): string {
  if (typeof payload.share.user !== 'string' || payload.share.user === '') throw new InputError('the share user is empty');
  if (payload.share.password.isEmpty) throw new InputError('the share password is empty');
  const share: Record<string, string> = { user: payload.share.user };
  if (payload.share.domain !== undefined) share.domain = payload.share.domain;
  share.password = payload.share.password.reveal();
  const body: Record<string, unknown> = { share };
  if (payload.veeamEncryptionPassword) body.veeamEncryptionPassword = payload.veeamEncryptionPassword.reveal();
  return JSON.stringify(body);
}

function parsePayload(plaintext: Buffer): VaultPayload {
  let value: unknown;
  try {
    value = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new VaultFormatError('ciphertext', 'decrypts to something that is not a Lifeboat vault payload');
  }
  if (!isObject(value) || !isObject(value.share)) throw new VaultFormatError('payload.share', 'missing');
  const { user, domain, password } = value.share;
  if (typeof user !== 'string' || user === '') throw new VaultFormatError('payload.share.user', 'missing');
  if (domain !== undefined && typeof domain !== 'string') throw new VaultFormatError('payload.share.domain', 'not a text');
  if (typeof password !== 'string') throw new VaultFormatError('payload.share.password', 'missing');
  const veeam = value.veeamEncryptionPassword;
  if (veeam !== undefined && typeof veeam !== 'string') {
    throw new VaultFormatError('payload.veeamEncryptionPassword', 'not a text');
  }
  const payload: VaultPayload = { share: { user, password: new Secret(password) } };
  if (domain !== undefined) payload.share.domain = domain;
  if (veeam !== undefined) payload.veeamEncryptionPassword = new Secret(veeam);
  return payload;
}

function base64Field(value: unknown, field: string, size: { min: number; max: number }): void {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new VaultFormatError(field, 'expected base64 text');
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw new VaultFormatError(field, 'expected canonical base64 text');
  if (bytes.length < size.min || bytes.length > size.max) {
    throw new VaultFormatError(
      field,
      size.min === size.max ? `expected ${size.min} bytes, got ${bytes.length}` : `expected ${size.min} to ${size.max} bytes, got ${bytes.length}`,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
