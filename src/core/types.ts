import type { Address, Hash, PublicKeyHex } from '../crypto/index.ts';
import type { JsonValue } from './encoding.ts';
import type { Vote } from './votes.ts';

export type { Address, Hash, PublicKeyHex, JsonValue };

/** The three kinds of network one peerchain node program runs. */
export type NetworkKind = 'public' | 'private' | 'consortium';

/** Moves value from the sender's account to another address. */
export interface TransferTx {
  readonly kind: 'transfer';
  readonly chainId: string;
  /** Sender's Ed25519 public key; the sender's address derives from it. */
  readonly from: PublicKeyHex;
  readonly nonce: number;
  readonly fee: bigint;
  readonly to: Address;
  readonly amount: bigint;
  /** Ed25519 signature of the transaction id. */
  readonly sig: string;
}

/** Sets a record key to a JSON value; the record keeps every past value. */
export interface RecordTx {
  readonly kind: 'record';
  readonly chainId: string;
  readonly from: PublicKeyHex;
  readonly nonce: number;
  readonly fee: bigint;
  readonly key: string;
  readonly value: JsonValue;
  readonly sig: string;
}

/** What a governance transaction asks for: a change to membership or to the validator set. */
export type GovernOp = 'add-member' | 'remove-member' | 'add-validator' | 'remove-validator';

/** A proposed membership change; its canonical JSON identifies the proposal. */
export interface GovernAction {
  readonly op: GovernOp;
  /** The organisation the node belongs to (or joins). */
  readonly org: string;
  readonly nodeId: PublicKeyHex;
  /** Name of a node that joins (add-member, add-validator of a new node); absent for removals. */
  readonly name?: string;
}

/**
 * Records the sender's organisation's approval of a governance action; once
 * more than the genesis threshold of organisations approve, the change is
 * scheduled (see core/governance.ts).
 */
export interface GovernTx {
  readonly kind: 'govern';
  readonly chainId: string;
  readonly from: PublicKeyHex;
  readonly nonce: number;
  readonly fee: bigint;
  readonly action: GovernAction;
  readonly sig: string;
}

/** The first transaction of a PoW block: reward plus fees to the miner. Unsigned. */
export interface CoinbaseTx {
  readonly kind: 'coinbase';
  readonly chainId: string;
  /** The block height, so that every coinbase has a distinct id. */
  readonly height: number;
  readonly to: Address;
  readonly amount: bigint;
}

export type SignedTx = TransferTx | RecordTx | GovernTx;
/**
 * Two conflicting votes of one validator, put on chain by a BFT proposer.
 * Unsigned: the votes' own signatures are the proof (core/evidence.ts).
 */
export interface EvidenceTx {
  readonly kind: 'evidence';
  readonly chainId: string;
  readonly voteA: Vote;
  readonly voteB: Vote;
}

export type Tx = SignedTx | CoinbaseTx | EvidenceTx;

/** A transaction before signing. */
export type UnsignedTx = Omit<TransferTx, 'sig'> | Omit<RecordTx, 'sig'> | Omit<GovernTx, 'sig'>;

/** Block header: the block hash is double SHA-256 of its binary encoding. */
export interface BlockHeader {
  readonly version: number;
  readonly chainId: string;
  readonly height: number;
  readonly prevHash: Hash;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** Merkle root of the transaction ids (RFC 6962). */
  readonly txRoot: Hash;
  /** Root of the state trie after applying this block. */
  readonly stateRoot: Hash;
  /** PoW: the compact target ("bits"); 0 in BFT networks. */
  readonly bits: number;
  /** PoW: the nonce the miner found; 0 in BFT networks. */
  readonly nonce: number;
  /** BFT: the proposer's node id; all zeros in PoW networks. */
  readonly proposer: PublicKeyHex;
}

/** A block: header, transactions, and for BFT the commit certificate. */
export interface Block {
  readonly header: BlockHeader;
  readonly txs: readonly Tx[];
  /** BFT commit certificate (signatures of > 2/3 of validators); absent in PoW. */
  readonly commit?: JsonValue;
}

/** An account in the state. */
export interface Account {
  readonly balance: bigint;
  readonly nonce: number;
  /** In permissioned networks: the organisation that admitted this account. */
  readonly org?: string;
}

/** A record in the state: its current value and a commitment to its history. */
export interface RecordState {
  readonly value: JsonValue;
  /** Address of the first writer. */
  readonly owner: Address;
  /** Number of writes so far (the history length). */
  readonly updates: number;
  /** Height and tx of the latest write. */
  readonly height: number;
  readonly txId: Hash;
  /** Hash chain over every history entry: H(prev || H(entry)). */
  readonly historyHash: Hash;
}

/** One past value of a record. */
export interface RecordEntry {
  readonly height: number;
  readonly txId: Hash;
  readonly from: Address;
  readonly value: JsonValue;
}

/** Rules that bound transactions and blocks; fixed by genesis. */
export interface ChainParams {
  readonly minFee: bigint;
  readonly maxBlockTxs: number;
  readonly maxBlockBytes: number;
  readonly maxTxBytes: number;
  readonly maxRecordKeyLength: number;
  readonly maxRecordValueBytes: number;
  /** How far ahead of the local clock a block timestamp may be. */
  readonly maxFutureMs: number;
  /** Permissioned networks: only admitted member accounts may send transactions. */
  readonly membersOnly: boolean;
}

/** Proof-of-Work consensus parameters. */
export interface PowParams {
  readonly type: 'pow';
  readonly targetBlockTimeMs: number;
  /** Compact target of the first blocks. */
  readonly initialBits: number;
  /** Compact target no block may exceed (the easiest allowed). */
  readonly powLimitBits: number;
  /** Blocks between difficulty adjustments. */
  readonly retargetInterval: number;
  /** An adjustment changes the target by at most this factor either way. */
  readonly maxAdjustFactor: number;
  readonly reward: bigint;
  /** Blocks between reward halvings; 0 means never. */
  readonly halvingInterval: number;
}

/** BFT consensus parameters. */
export interface BftParams {
  readonly type: 'bft';
  /** Produce an empty block after this long without transactions. */
  readonly emptyBlockIntervalMs: number;
  readonly timeoutProposeMs: number;
  readonly timeoutVoteMs: number;
  /** Fraction of organisations (num/den, strictly more than) that must approve governance. */
  readonly governanceThreshold: { readonly num: number; readonly den: number };
}

export type ConsensusParams = PowParams | BftParams;

/** A node admitted to a permissioned network. */
export interface Member {
  readonly name: string;
  readonly nodeId: PublicKeyHex;
  readonly validator: boolean;
  readonly bootstrap: boolean;
}

/** An organisation of a permissioned network. */
export interface Org {
  readonly name: string;
  /** Optional key that signs certificates for members admitted after genesis. */
  readonly orgKey?: PublicKeyHex;
  readonly members: readonly Member[];
  /** Accounts admitted to send transactions. */
  readonly accounts: readonly Address[];
}

/** The parsed genesis document: everything that identifies a network. */
export interface Genesis {
  readonly network: NetworkKind;
  readonly chainId: string;
  readonly timestamp: number;
  readonly consensus: ConsensusParams;
  readonly params: ChainParams;
  readonly alloc: readonly { readonly address: Address; readonly balance: bigint }[];
  readonly orgs: readonly Org[];
}
