/** Ceilings measured in the same run as the figures compared with them. */
import { fork } from 'node:child_process';
import { generateKeyPairSync, hash, randomBytes, sign, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** Raw Ed25519 verifications per second on this thread (KeyObjects reused, as a node would). */
export function rawVerifyRate(seconds = 1.5): number {
  const keys = Array.from({ length: 64 }, () => generateKeyPairSync('ed25519'));
  const msgs = keys.map(() => randomBytes(32));
  const sigs = keys.map((k, i) => sign(null, msgs[i]!, k.privateKey));
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) verify(null, msgs[i]!, keys[i]!.publicKey, sigs[i]!);
    n += 64;
  }
  return (n * 1000) / (performance.now() - start);
}

/**
 * Raw Ed25519 verifications per second on every core: node:crypto's verify
 * with a callback, which runs on libuv's thread pool, kept full for the whole
 * window (KeyObjects reused). The ceiling of any multi-core verification.
 */
export async function rawVerifyRateAllCores(seconds = 1.5): Promise<number> {
  const keys = Array.from({ length: 64 }, () => generateKeyPairSync('ed25519'));
  const msgs = keys.map(() => randomBytes(32));
  const sigs = keys.map((k, i) => sign(null, msgs[i]!, k.privateKey));
  const one = (i: number): Promise<boolean> => new Promise((resolve, reject) => verify(null, msgs[i]!, keys[i]!.publicKey, sigs[i]!, (err, ok) => (err ? reject(err) : resolve(ok))));
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await Promise.all(Array.from({ length: 1024 }, (_, j) => one(j & 63)));
    n += 1024;
  }
  return (n * 1000) / (performance.now() - start);
}

/** Raw double SHA-256 per second of `bytes` on this thread. */
export function rawSha256dRate(bytes: Buffer, seconds = 1.5): number {
  const buf = Buffer.from(bytes);
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 10_000; i++) {
      buf.writeUInt32BE(i, buf.length - 4);
      hash('sha256', hash('sha256', buf, 'buffer') as unknown as Buffer, 'buffer');
    }
    n += 10_000;
  }
  return (n * 1000) / (performance.now() - start);
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Raw double SHA-256 per second over `procs` separate processes hashing at
 * once: each child starts, says it is ready, and all hash for the same window.
 */
export async function rawSha256dRateProcs(bytes: Buffer, procs: number, seconds = 2): Promise<number> {
  const children = Array.from({ length: procs }, () => fork(SELF, ['--sha-child', bytes.toString('hex'), String(seconds)], { execArgv: ['--import', 'tsx'] }));
  const rates = children.map((c) => new Promise<number>((resolve, reject) => {
    c.on('message', (m) => {
      if (m !== 'ready') resolve(Number(m));
    });
    c.once('error', reject);
  }));
  await Promise.all(children.map((c) => new Promise<void>((resolve) => c.on('message', (m) => m === 'ready' && resolve()))));
  for (const c of children) c.send('go');
  return (await Promise.all(rates)).reduce((a, b) => a + b, 0);
}

if (process.argv[2] === '--sha-child') {
  process.once('message', () => {
    const r = rawSha256dRate(Buffer.from(process.argv[3]!, 'hex'), Number(process.argv[4]));
    process.send!(r, () => process.exit(0));
  });
  process.send!('ready');
}
