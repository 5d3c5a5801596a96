/** The chains the sync bench serves: a genesis and blocks built the same way in every process. */
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../src/crypto/index.ts';
import { assembleBlock, bitsForLeadingZeroBits, blockHash, buildGenesisBlock, checkProofOfWork, parseGenesis, signTx, unwrap, type Block, type Genesis, type SignedTx } from '../src/core/index.ts';

export const TX_PER_BLOCK = 20;

/** Which chain: empty blocks (a coinbase each) or blocks of transfers. */
export type SyncChainKind = 'empty' | 'transfers';

function senders(kind: SyncChainKind): KeyPair[] {
  return kind === 'empty' ? [] : Array.from({ length: TX_PER_BLOCK }, (_, i) => keyPairFromSeed(Buffer.alloc(32, 10 + i)));
}

/** The genesis of a bench chain. */
export function genesisFor(kind: SyncChainKind): Genesis {
  return unwrap(
    parseGenesis({
      network: 'public',
      chainId: 'bench-sync',
      timestamp: 1_700_000_000_000,
      // The easiest target and no retarget: the bench measures sync, not mining.
      consensus: { type: 'pow', targetBlockTimeMs: 1000, initialBits: bitsForLeadingZeroBits(1), powLimitBits: bitsForLeadingZeroBits(1), retargetInterval: 1_000_000, maxAdjustFactor: 4, reward: '50', halvingInterval: 0 },
      alloc: senders(kind).map((k) => ({ address: addressFromPublicKey(k.publicKey), balance: '1000000000000' })),
    }),
  );
}

/** `n` valid blocks on the genesis of `kind`, each with its proof of work. */
export function buildBlocks(kind: SyncChainKind, n: number): Block[] {
  const g = genesisFor(kind);
  const keys = senders(kind);
  const sink = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 0x99)).publicKey);
  const txsFor = (h: number): SignedTx[] => keys.map((k) => signTx({ kind: 'transfer', chainId: g.chainId, from: k.publicKey, nonce: h - 1, fee: 1n, to: sink, amount: 1n }, k));
  const gb = buildGenesisBlock(g);
  const miner = addressFromPublicKey(keyPairFromSeed(Buffer.alloc(32, 0x77)).publicKey);
  const ctx = { chainId: g.chainId, params: g.params, consensus: g.consensus };
  let state = gb.state;
  let prev = gb.hash;
  let ts = gb.block.header.timestamp;
  const out: Block[] = [];
  for (let h = 1; h <= n; h++) {
    ts += 1000;
    const r = unwrap(assembleBlock(state, txsFor(h), { parentHash: prev, parentHeight: h - 1, timestamp: ts, bits: gb.block.header.bits, coinbaseTo: miner }, ctx));
    let header = r.block.header;
    while (!checkProofOfWork(header).ok) header = { ...header, nonce: header.nonce + 1 };
    const block = { ...r.block, header };
    out.push(block);
    state = r.state;
    prev = blockHash(header);
  }
  return out;
}
