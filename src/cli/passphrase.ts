import { readFile } from 'node:fs/promises';
import { CliError } from './errors.ts';
import { flagOrEnv, fromEnv, type Env, type Sourced } from './config.ts';

// Passphrase files are one short line; a larger file is the wrong file.
const MAX_PASSPHRASE_FILE_BYTES = 4096;

/**
 * The key-file passphrase from --passphrase-file, PEERCHAIN_PASSPHRASE_FILE or
 * PEERCHAIN_PASSPHRASE, in that order; undefined if none is set. There is no
 * --passphrase flag on purpose: command lines end up in shell history and `ps`.
 */
export async function resolvePassphrase(env: Env, passphraseFile: string | undefined): Promise<Sourced<string> | undefined> {
  const file = flagOrEnv(env, '--passphrase-file', passphraseFile, 'PEERCHAIN_PASSPHRASE_FILE');
  if (file === undefined) return fromEnv(env, 'PEERCHAIN_PASSPHRASE');
  let text: string;
  try {
    const buf = await readFile(file.value);
    if (buf.length > MAX_PASSPHRASE_FILE_BYTES) throw new CliError(`${file.source}: ${file.value} is too large to be a passphrase file`);
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code || String(e)})`;
    throw new CliError(`${file.source}: passphrase file ${file.value} ${why}`);
  }
  // Editors and `echo` add a final newline that is not part of the passphrase.
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase === '') throw new CliError(`${file.source}: passphrase file ${file.value} is empty`);
  return { value: passphrase, source: file.source };
}
