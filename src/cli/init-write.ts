import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildGenesisBlock, genesisToJson, parseGenesis, type Genesis } from '../core/index.ts';
import { ensureDir, NODE_KEY_FILE, readKeyFile, writeKeyFile } from '../node/keystore.ts';
import { selfSignedCertificate } from '../crypto/index.ts';
import { CliError } from './errors.ts';
import { nodeFile, type NetworkPlan } from './init-layout.ts';

/** The node's TLS certificate, written for permissioned networks. */
export const TLS_CERT_FILE = 'tls-cert.pem';

/**
 * Writes a planned network to disk. Everything goes into a staging folder inside
 * DIR first and is checked there; only then are the pieces renamed into place,
 * so a failure half-way leaves DIR as it was.
 */

/** The top-level entries init owns in DIR; --force replaces exactly these. */
export const OWNED_ENTRIES = ['genesis.json', 'nodes', 'wallets', 'orgs'] as const;

const STAGING_PREFIX = '.peerchain-init-';

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * Checks that DIR can receive a new network: absent, an empty directory, or
 * (with force) any directory. Reads only; call before planning anything.
 */
export async function checkOutDir(dir: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new CliError(`--out ${dir}: exists and is not a directory`);
    entries = await readdir(dir);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (errnoCode(e) === 'ENOENT') return;
    throw new CliError(`--out ${dir}: cannot be read (${errnoCode(e) ?? String(e)})`);
  }
  if (entries.length > 0 && !force) {
    throw new CliError(`--out ${dir}: directory is not empty (${entries.length} entries); pass --force to replace genesis.json, nodes/, wallets/ and orgs/ there`);
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o644, flag: 'wx' });
}

/** Like Promise.all, but waits for every write to finish first, so cleanup never races a write still in flight. */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Writes every file of the plan under root (a fresh staging folder). */
async function writePlan(root: string, plan: NetworkPlan, genesisJson: unknown): Promise<void> {
  await writeJson(join(root, 'genesis.json'), genesisJson);
  await settleAll(
    plan.nodes.map(async (n) => {
      const dir = join(root, 'nodes', n.name);
      // Node folders hold private keys (and later chain data): owner only.
      await ensureDir(dir, 0o700);
      await writeKeyFile(join(dir, NODE_KEY_FILE), n.keys);
      await writeJson(join(dir, 'node.json'), nodeFile(plan, n));
      // Permissioned links are TLS with a certificate for the node key. The node
      // derives the same certificate from its key; the file is there to inspect
      // (openssl x509 -in tls-cert.pem -text) and to hand to other tools.
      if (plan.network !== 'public') await writeFile(join(dir, TLS_CERT_FILE), selfSignedCertificate(n.keys, n.name), { mode: 0o644, flag: 'wx' });
    }),
  );
  await settleAll(plan.orgs.map((o) => writeKeyFile(join(root, 'orgs', o.name, 'org-key.json'), o.keys)));
  await settleAll(plan.wallets.map((w) => writeKeyFile(join(root, w.file), w.keys)));
}

/** Re-reads what was written and checks it is the network that was planned. */
async function verifyWritten(root: string, plan: NetworkPlan, expectedHash: string): Promise<void> {
  const parsed = parseGenesis(JSON.parse(await readFile(join(root, 'genesis.json'), 'utf8')) as unknown);
  if (!parsed.ok) throw new Error(`written genesis does not parse: ${parsed.error.message}`);
  const hash = buildGenesisBlock(parsed.value).hash;
  if (hash !== expectedHash) throw new Error(`written genesis hashes to ${hash}, expected ${expectedHash}`);
  for (const n of plan.nodes) {
    const keys = await readKeyFile(join(root, 'nodes', n.name, NODE_KEY_FILE));
    if (keys.publicKey !== n.keys.publicKey) throw new Error(`node key of ${n.name} did not read back`);
  }
}

/** The parsed genesis and its hash, or a bug report if the plan built an invalid document. */
export function checkedGenesis(plan: NetworkPlan): { genesis: Genesis; hash: string; json: unknown } {
  const parsed = parseGenesis(plan.genesis);
  if (!parsed.ok) throw new Error(`init built an invalid genesis: ${parsed.error.message}`);
  // Written in normalised form so every default (limits, fees) is visible and editable.
  return { genesis: parsed.value, hash: buildGenesisBlock(parsed.value).hash, json: genesisToJson(parsed.value) };
}

/** Writes the plan into dir (see checkOutDir first) and returns the genesis hash. */
export async function writeNetwork(dir: string, plan: NetworkPlan, force: boolean): Promise<string> {
  const { hash, json } = checkedGenesis(plan);
  let created: string | undefined;
  try {
    created = await ensureDir(dir);
  } catch (e) {
    throw new CliError(`--out ${dir}: cannot create the directory (${errnoCode(e) ?? String(e)})`);
  }
  const staging = join(dir, STAGING_PREFIX + randomBytes(4).toString('hex'));
  try {
    await mkdir(staging, { mode: 0o700 });
    await writePlan(staging, plan, json);
    await verifyWritten(staging, plan, hash);
    if (force) {
      for (const name of await readdir(dir)) {
        const stale = name.startsWith(STAGING_PREFIX) && join(dir, name) !== staging;
        if (stale || (OWNED_ENTRIES as readonly string[]).includes(name)) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
    // genesis.json last: its presence marks a complete init.
    for (const name of ['nodes', 'wallets', 'orgs', 'genesis.json']) {
      try {
        await rename(join(staging, name), join(dir, name));
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    await rm(staging, { recursive: true, force: true });
  } catch (e) {
    await rm(created ?? staging, { recursive: true, force: true });
    const code = errnoCode(e);
    if (code !== undefined) throw new CliError(`--out ${dir}: cannot write the network there (${code})`);
    throw e;
  }
  return hash;
}
