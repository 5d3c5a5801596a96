/** Shared fixtures: a tiny PoW network whose blocks take a few hashes to mine. */
import { addressFromPublicKey, keyPairFromSeed, type KeyPair } from '../../src/crypto/index.ts';
import {
  assembleBlock,
  bitsForLeadingZeroBits,
  blockHash,
  buildGenesisBlock,
  checkProofOfWork,
  parseGenesis,
  signTx,
  unwrap,
  type Block,
  type Genesis,
  type SignedTx,
  type State,
} from '../../src/core/index.ts';

export const CHAIN_ID = 'fixture-net';
export const keys: KeyPair[] = [1, 2, 3, 4].map((n) => keyPairFromSeed(Buffer.alloc(32, n)));
export const addrs = keys.map((k) => addressFromPublicKey(k.publicKey));

/** A public genesis with easy, fixed difficulty; the first two keys are funded. */
export function powGenesis(over: { retargetInterval?: number; zeroBits?: number } = {}): Genesis {
  return unwrap(
    parseGenesis({
      network: 'public',
      chainId: CHAIN_ID,
      timestamp: 1_700_000_000_000,
      consensus: {
        type: 'pow',
        targetBlockTimeMs: 1000,
        initialBits: bitsForLeadingZeroBits(over.zeroBits ?? 2),
        powLimitBits: bitsForLeadingZeroBits(1),
        retargetInterval: over.retargetInterval ?? 100_000,
        maxAdjustFactor: 4,
        reward: '50',
        halvingInterval: 0,
      },
      alloc: [
        { address: addrs[0]!, balance: '1000000' },
        { address: addrs[1]!, balance: '1000000' },
      ],
    }),
  );
}

/** Mines (by brute force in-process) a block on a parent with the given transactions. */
export function mineBlock(g: Genesis, parent: { hash: string; height: number; timestamp: number; bits: number; state: State }, txs: SignedTx[] = [], miner = addrs[2]!): { block: Block; state: State } {
  const r = unwrap(
    assembleBlock(parent.state, txs, { parentHash: parent.hash, parentHeight: parent.height, timestamp: parent.timestamp + 1000, bits: parent.bits, coinbaseTo: miner }, { chainId: g.chainId, params: g.params, consensus: g.consensus }),
  );
  let header = r.block.header;
  while (!checkProofOfWork(header).ok) header = { ...header, nonce: header.nonce + 1 };
  return { block: { ...r.block, header }, state: r.state };
}

/** A chain of `n` empty mined blocks on the genesis block. */
export function mineChain(g: Genesis, n: number): Block[] {
  const gb = buildGenesisBlock(g);
  const out: Block[] = [];
  let parent = { hash: gb.hash, height: 0, timestamp: gb.block.header.timestamp, bits: gb.block.header.bits, state: gb.state };
  for (let i = 0; i < n; i++) {
    const { block, state } = mineBlock(g, parent);
    out.push(block);
    parent = { hash: blockHash(block.header), height: block.header.height, timestamp: block.header.timestamp, bits: block.header.bits, state };
  }
  return out;
}

/** A signed transfer. */
export function transfer(from: number, to: number, nonce: number, amount = 10n, fee = 1n): SignedTx {
  const k = keys[from]!;
  return signTx({ kind: 'transfer', chainId: CHAIN_ID, from: k.publicKey, nonce, fee, to: addrs[to]!, amount }, k);
}

/**
 * A private (BFT) genesis: one organisation whose members are the given
 * validator keys, and the given funded accounts admitted as its members.
 */
export function bftGenesis(o: { chainId: string; timestamp: number; validators: readonly KeyPair[]; funded: readonly { address: string; balance: string }[]; params?: Record<string, unknown> }): Genesis {
  return unwrap(
    parseGenesis({
      network: 'private',
      chainId: o.chainId,
      timestamp: o.timestamp,
      consensus: { type: 'bft', emptyBlockIntervalMs: 1000, timeoutProposeMs: 1000, timeoutVoteMs: 1000, governanceThreshold: { num: 1, den: 2 } },
      ...(o.params === undefined ? {} : { params: o.params }),
      alloc: o.funded.map((f) => ({ address: f.address, balance: f.balance })),
      orgs: [{ name: 'org1', members: o.validators.map((k, i) => ({ name: `v${i}`, nodeId: k.publicKey, validator: true })), accounts: o.funded.map((f) => f.address) }],
    }),
  );
}
