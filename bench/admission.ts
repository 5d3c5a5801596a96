/**
 * Transaction admission: signed transfers per second into the mempool against
 * raw Ed25519 verification. One at a time (a single POST /api/txs each) on
 * one core; and in batches as POST /api/txs/batch takes them, whose
 * signatures are checked on every core, against every core's ceiling.
 */
import { addressFromPublicKey, keyPairFromSeed } from '../src/crypto/index.ts';
import { bitsForLeadingZeroBits, parseGenesis, signTx, txToJson, unwrap, type Genesis, type TxJson } from '../src/core/index.ts';
import { MemoryStore } from '../src/storage/index.ts';
import { PeerchainNode } from '../src/node/node.ts';
import { createLogger } from '../src/node/logger.ts';
import { availableParallelism } from 'node:os';
import { rawVerifyRate, rawVerifyRateAllCores } from './ceilings.ts';
import { report } from './report.ts';

const SENDERS = 500;
const PER_SENDER = 20;
// As a load generator or batch importer would send them (the API takes up to 1000).
const BATCH = 500;

/** Runs the admission bench. */
export async function run(): Promise<void> {
  const keys = Array.from({ length: SENDERS }, (_, i) => {
    const seed = Buffer.alloc(32);
    seed.writeUInt32BE(i + 1);
    return keyPairFromSeed(seed);
  });
  const sink = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 0xee)).publicKey);
  const genesis = unwrap(
    parseGenesis({
      network: 'public',
      chainId: 'bench-admission',
      timestamp: Date.now(),
      consensus: { type: 'pow', targetBlockTimeMs: 5000, initialBits: bitsForLeadingZeroBits(8), powLimitBits: bitsForLeadingZeroBits(1), retargetInterval: 10, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
      alloc: keys.map((k) => ({ address: addressFromPublicKey(k.publicKey), balance: '1000000000' })),
    }),
  );
  // Signing is the client's cost, not the node's: prepare the JSON the API would receive.
  const txs: TxJson[] = [];
  for (let n = 0; n < PER_SENDER; n++) {
    for (const k of keys) txs.push(txToJson(signTx({ kind: 'transfer', chainId: genesis.chainId, from: k.publicKey, nonce: n, fee: 1n, to: sink, amount: 1n }, k)));
  }
  const wire = txs.map((t) => JSON.stringify(t));
  const ceiling = rawVerifyRate();
  const one = await admit(genesis, async (node) => {
    let admitted = 0;
    // From the bytes an API or peer would hand over: parse, check, verify, admit.
    for (const w of wire) if (node.submitTx(JSON.parse(w)).ok) admitted++;
    return admitted;
  });
  const ceilingAll = await rawVerifyRateAllCores();
  const batched = await admit(genesis, async (node) => {
    let admitted = 0;
    for (let i = 0; i < wire.length; i += BATCH) {
      const rs = await node.submitTxs(JSON.parse(`[${wire.slice(i, i + BATCH).join(',')}]`) as unknown[]);
      for (const r of rs) if (r.ok) admitted++;
    }
    return admitted;
  });
  for (const r of [one, batched]) if (r.admitted !== wire.length) throw new Error(`only ${r.admitted} of ${wire.length} admitted`);
  report(
    'admission',
    [
      { name: 'transfers admitted to the mempool, one at a time (1 core)', value: one.rate, unit: 'tx/s', ceiling, ceilingName: 'raw Ed25519 verify, 1 core', target: '>= 70%' },
      { name: `transfers admitted in batches of ${BATCH} (all cores)`, value: batched.rate, unit: 'tx/s', ceiling: ceilingAll, ceilingName: `raw Ed25519 verify, all ${availableParallelism()} cores` },
    ],
    { transactions: wire.length },
  );
}

/** Admits the transactions into a fresh node with `fn`; returns how many and how fast. */
async function admit(genesis: Genesis, fn: (node: PeerchainNode) => Promise<number>): Promise<{ admitted: number; rate: number }> {
  const node = await PeerchainNode.create({ genesis, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 7)), log: createLogger({ silent: true }), mempool: { maxTxs: 100_000, maxNonceGap: 64 } });
  try {
    const t0 = performance.now();
    const admitted = await fn(node);
    return { admitted, rate: (admitted * 1000) / (performance.now() - t0) };
  } finally {
    await node.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
