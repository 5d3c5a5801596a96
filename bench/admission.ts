/** Transaction admission: signed transfers per second into the mempool against raw Ed25519 verification. */
import { addressFromPublicKey, keyPairFromSeed } from '../src/crypto/index.ts';
import { bitsForLeadingZeroBits, parseGenesis, signTx, txToJson, unwrap, type TxJson } from '../src/core/index.ts';
import { MemoryStore } from '../src/storage/index.ts';
import { PeerchainNode } from '../src/node/node.ts';
import { createLogger } from '../src/node/logger.ts';
import { rawVerifyRate } from './ceilings.ts';
import { report } from './report.ts';

const SENDERS = 500;
const PER_SENDER = 20;

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
  const node = await PeerchainNode.create({ genesis, store: new MemoryStore(), key: keyPairFromSeed(Buffer.alloc(32, 7)), log: createLogger({ silent: true }), mempool: { maxTxs: 100_000, maxNonceGap: 64 } });
  const t0 = performance.now();
  let admitted = 0;
  for (const w of wire) {
    // From the bytes an API or peer would hand over: parse, check, verify, admit.
    if (node.submitTx(JSON.parse(w)).ok) admitted++;
  }
  const dt = performance.now() - t0;
  await node.stop();
  if (admitted !== wire.length) throw new Error(`only ${admitted} of ${wire.length} admitted`);
  report('admission', [{ name: 'transfers admitted to the mempool (1 core)', value: (admitted * 1000) / dt, unit: 'tx/s', ceiling, ceilingName: 'raw Ed25519 verify, 1 core', target: '>= 70%' }], { transactions: admitted });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
