/**
 * `peerchain org certify`: signs a member certificate with an organisation's
 * key, here, so the org key never leaves this machine. Every flag is checked
 * before the key file is opened, so bad input writes nothing.
 */
import { writeFile } from 'node:fs/promises';
import { CHAIN_ID_RE, MAX_NAME_LENGTH, memberCertFromJson, signMemberCert, verifyMemberCert, type MemberCert } from '../core/index.ts';
import { isPublicKeyHex, type KeyPair } from '../crypto/index.ts';
import { KeystoreError, loadKeyFile } from '../node/keystore.ts';
import type { CliContext } from './context.ts';
import { badValue, CliError } from './errors.ts';
import { table } from './output.ts';
import { resolvePassphrase } from './passphrase.ts';

/** Flags of `org certify`. */
export interface CertifyFlags {
  orgKey?: string;
  passphraseFile?: string;
  org?: string;
  nodeId?: string;
  name?: string;
  chainId?: string;
  out?: string;
  force?: boolean;
  json?: boolean;
}

function required(flag: string, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new CliError(`${flag}: required (${what})`);
  return value;
}

function nameFlag(flag: string, value: string | undefined, what: string): string {
  const v = required(flag, value, what);
  if (v.length > MAX_NAME_LENGTH) throw badValue(flag, v, `a name of 1-${MAX_NAME_LENGTH} characters`);
  return v;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

async function openOrgKey(ctx: CliContext, file: string, passphraseFile: string | undefined): Promise<KeyPair> {
  const passphrase = await resolvePassphrase(ctx.env, passphraseFile);
  try {
    return (await loadKeyFile(file, passphrase?.value)).keys;
  } catch (e) {
    if (e instanceof KeystoreError) throw new CliError(`--org-key: ${e.message}`);
    throw e;
  }
}

async function writeCert(file: string, cert: MemberCert, force: boolean): Promise<void> {
  try {
    // A certificate is public (peers are shown it), so it is world-readable, unlike a key file.
    await writeFile(file, JSON.stringify(cert, null, 2) + '\n', { mode: 0o644, flag: force ? 'w' : 'wx' });
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') throw new CliError(`--out ${file}: file already exists; pass --force to replace it`);
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? String(e));
    throw new CliError(`--out ${file}: cannot write the certificate (${why})`);
  }
}

/** `org certify`: checks the flags, opens the org key, signs the certificate and writes it. */
export async function runCertify(ctx: CliContext, flags: CertifyFlags): Promise<void> {
  const keyFile = required('--org-key', flags.orgKey, "the organisation's key file, e.g. DIR/orgs/NAME/org-key.json");
  const org = nameFlag('--org', flags.org, 'the organisation, as named in genesis');
  const nodeId = required('--node-id', flags.nodeId, "the node's public key in hex");
  if (!isPublicKeyHex(nodeId)) throw badValue('--node-id', nodeId, "a node public key: 64 lowercase hex characters (the nodeId in the node's node.json)");
  const name = nameFlag('--name', flags.name, "the member's name");
  const chainId = required('--chain-id', flags.chainId, 'the chain id from genesis.json');
  if (!CHAIN_ID_RE.test(chainId)) throw badValue('--chain-id', chainId, '1-32 characters of a-z, 0-9 and -, starting with a letter or digit');
  const out = required('--out', flags.out, 'the certificate file to write');
  const keys = await openOrgKey(ctx, keyFile, flags.passphraseFile);
  const cert = signMemberCert({ chainId, org, name, nodeId, issuedAt: ctx.now() }, keys);
  // Check the certificate as a peer will, against a membership holding only this org key.
  const check = verifyMemberCert(cert, { orgs: [{ name: org, orgKey: keys.publicKey, members: [] }] }, chainId);
  if (!check.ok || !memberCertFromJson(JSON.parse(JSON.stringify(cert))).ok) throw new Error(`org certify: the signed certificate does not verify: ${check.ok ? 'round trip failed' : check.error.message}`);
  await writeCert(out, cert, flags.force === true);
  if (flags.json === true) {
    ctx.out.json({ file: out, orgKey: keys.publicKey, certificate: cert });
    return;
  }
  const rows: [string, string][] = [
    ['file', out],
    ['organisation', org],
    ['member', name],
    ['node id', nodeId],
    ['chain id', chainId],
    ['org key', keys.publicKey],
    ['issued at', new Date(cert.issuedAt).toISOString()],
  ];
  for (const l of table(rows)) ctx.out.line(l);
  ctx.out.note(`note: peers accept the certificate only if genesis lists org key ${keys.publicKey.slice(0, 16)}... for "${org}"`);
}
