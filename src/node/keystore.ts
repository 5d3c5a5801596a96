import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { memberCertFromJson, type MemberCert } from '../core/index.ts';
import { decodeKeyFile, encodeKeyFile, generateKeyPair, isEncryptedKeyFile, KeyFileError, type KeyFile, type KeyPair } from '../crypto/index.ts';

/**
 * Key files on disk. The JSON format and its encryption live in crypto/keyfile.ts;
 * this module adds what touches the file system: atomic writes with owner-only
 * permissions, no silent overwrites, and errors that name the file.
 */

/** Why a key file could not be read or written. */
export type KeystoreErrorReason =
  | 'missing'
  | 'unreadable'
  | 'not-json'
  | 'damaged'
  | 'wrong-passphrase'
  | 'passphrase-required'
  | 'exists'
  | 'unwritable';

/** A key file problem a user can act on; the message names the file. */
export class KeystoreError extends Error {
  readonly reason: KeystoreErrorReason;
  readonly file: string;
  constructor(reason: KeystoreErrorReason, file: string, message: string) {
    super(message);
    this.name = 'KeystoreError';
    this.reason = reason;
    this.file = file;
  }
}

/** The file name of a node's key inside its data directory. */
export const NODE_KEY_FILE = 'node-key.json';

// A key file is a few hundred bytes; anything much larger is the wrong file, and
// reading it whole would waste memory before failing anyway.
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Options for writeKeyFile. */
export interface WriteKeyFileOptions {
  /** Seal the private key with this passphrase (scrypt + AES-256-GCM). */
  readonly passphrase?: string;
  /** Replace an existing file; without it an existing file is an error. */
  readonly overwrite?: boolean;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function describeIoError(e: unknown): string {
  const code = errnoCode(e);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent path is not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return code ?? (e instanceof Error ? e.message : String(e));
  }
}

/**
 * Writes bytes to `file` atomically with mode 0600: a temp file in the same
 * directory is filled and synced, then linked (no overwrite) or renamed
 * (overwrite) into place, so a crash never leaves a half-written key.
 */
async function writeFileAtomic(file: string, data: string, overwrite: boolean): Promise<void> {
  const dir = dirname(file);
  try {
    await ensureDir(dir, 0o700);
  } catch (e) {
    throw new KeystoreError('unwritable', file, `cannot create directory ${dir} for ${file}: ${describeIoError(e)}`);
  }
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      // The mode given to open() is filtered by the umask; make 0600 explicit.
      await fh.chmod(0o600);
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) await rename(tmp, file);
    else await linkNoClobber(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof KeystoreError) throw e;
    throw new KeystoreError('unwritable', file, `cannot write key file ${file}: ${describeIoError(e)}`);
  }
  await rm(tmp, { force: true });
  await syncDir(dir);
}

/** mkdir of one level: true if created, false if a directory is already there (perhaps made by a concurrent caller). */
async function mkdirOne(dir: string, mode: number): Promise<boolean> {
  try {
    await mkdir(dir, { mode });
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST' && (await stat(dir)).isDirectory()) return false;
    throw e;
  }
}

/**
 * mkdir -p; returns the first directory it created, if any. Node 20's own
 * recursive mkdir spins forever when mkdir fails with ENOENT under an existing
 * parent (as in /proc), so this walks up by hand and fails instead.
 */
export async function ensureDir(dir: string, mode = 0o777): Promise<string | undefined> {
  try {
    return (await mkdirOne(dir, mode)) ? dir : undefined;
  } catch (e) {
    const parent = dirname(dir);
    if (errnoCode(e) !== 'ENOENT' || parent === dir) throw e;
    const first = await ensureDir(parent, mode);
    // A second ENOENT here means the parent exists but refuses children: give up.
    const created = await mkdirOne(dir, mode);
    return first ?? (created ? dir : undefined);
  }
}

/** link() fails if the target exists, which makes "create only" atomic; rename() would clobber. */
async function linkNoClobber(tmp: string, file: string): Promise<void> {
  try {
    await link(tmp, file);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') throw existsError(file);
    // Some file systems (FAT, some network mounts) have no hard links: fall back to check-then-rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw e;
    if (await pathExists(file)) throw existsError(file);
    await rename(tmp, file);
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the new directory entry durable; not every platform allows opening a directory.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

function existsError(file: string): KeystoreError {
  return new KeystoreError('exists', file, `${file} already exists; refusing to overwrite a key file`);
}

/** Writes a key pair as a key file (encrypted when a passphrase is given); returns the JSON written. */
export async function writeKeyFile(file: string, keys: KeyPair, options: WriteKeyFileOptions = {}): Promise<KeyFile> {
  const json = encodeKeyFile(keys, options.passphrase);
  await writeFileAtomic(file, JSON.stringify(json, null, 2) + '\n', options.overwrite === true);
  return json;
}

/** Reads and parses a key file's JSON without decrypting it; errors name the file. */
export async function readKeyFileJson(file: string): Promise<unknown> {
  let text: string;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new KeystoreError('unreadable', file, `cannot read key file ${file}: it is a directory`);
    if (st.size > MAX_KEY_FILE_BYTES) throw new KeystoreError('damaged', file, `key file ${file} is damaged: ${st.size} bytes is too large for a key file`);
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof KeystoreError) throw e;
    if (errnoCode(e) === 'ENOENT') throw new KeystoreError('missing', file, `key file ${file} does not exist`);
    throw new KeystoreError('unreadable', file, `cannot read key file ${file}: ${describeIoError(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KeystoreError('not-json', file, `key file ${file} is not JSON`);
  }
}

/** A key file's key pair, and whether the file was sealed with a passphrase. */
export interface LoadedKeyFile {
  readonly keys: KeyPair;
  readonly encrypted: boolean;
}

/** Reads a key file, decrypting it with the passphrase if it is sealed; errors name the file. */
export async function loadKeyFile(file: string, passphrase?: string): Promise<LoadedKeyFile> {
  const json = await readKeyFileJson(file);
  try {
    return { keys: decodeKeyFile(json, passphrase), encrypted: isEncryptedKeyFile(json) };
  } catch (e) {
    if (!(e instanceof KeyFileError)) throw e;
    switch (e.reason) {
      case 'passphrase-required':
        throw new KeystoreError('passphrase-required', file, `key file ${file} is encrypted: a passphrase is required`);
      case 'wrong-passphrase':
        throw new KeystoreError('wrong-passphrase', file, `wrong passphrase for key file ${file} (or the file was altered)`);
      case 'damaged':
        // KeyFileError messages read "key file is damaged: <detail>"; put the file name in.
        throw new KeystoreError('damaged', file, e.message.replace(/^key file/, `key file ${file}`));
    }
  }
}

/** Reads a key file and returns its key pair (see loadKeyFile). */
export async function readKeyFile(file: string, passphrase?: string): Promise<KeyPair> {
  return (await loadKeyFile(file, passphrase)).keys;
}

/** A node's key and whether this call created it. */
export interface NodeKey {
  readonly keys: KeyPair;
  readonly file: string;
  readonly created: boolean;
}

/** Loads DIR/node-key.json, creating a fresh unencrypted key there if there is none. */
export async function loadOrCreateNodeKey(dataDir: string): Promise<NodeKey> {
  const file = join(dataDir, NODE_KEY_FILE);
  try {
    return { keys: await readKeyFile(file), file, created: false };
  } catch (e) {
    if (!(e instanceof KeystoreError) || e.reason !== 'missing') throw e;
  }
  const keys = generateKeyPair();
  try {
    // Node keys stay unencrypted: a node starts unattended and has no one to ask.
    await writeKeyFile(file, keys);
    return { keys, file, created: true };
  } catch (e) {
    // Another process created it between our read and write: use theirs.
    if (e instanceof KeystoreError && e.reason === 'exists') return { keys: await readKeyFile(file), file, created: false };
    throw e;
  }
}

/** Where a node keeps the member certificate its organisation issued (optional). */
export const MEMBER_CERT_FILE = 'member-cert.json';

/** DATA/member-cert.json, written by `peerchain org certify`: how a node admitted by its organisation (not genesis) proves it. */
export async function readMemberCert(dataDir: string): Promise<MemberCert | undefined> {
  const file = join(dataDir, MEMBER_CERT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new KeystoreError('not-json', file, `${file}: not JSON (${(e as Error).message})`);
  }
  const c = memberCertFromJson(json);
  if (!c.ok) throw new KeystoreError('damaged', file, `${file}: ${c.error.message}`);
  return c.value;
}
