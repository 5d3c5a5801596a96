import { join } from 'node:path';
import { startApi, type ApiServer, type ConsensusApi, type FaultsApi, type PeersApi } from '../api/index.ts';
import { blamesSender, ChainClosedError, Synchronizer, type SyncNetwork, type SyncProgress } from '../chain/index.ts';
import { blockFromJson, blockHash, blockToJson, ERR, evidenceKey, evidenceTx, type Tx, genesisMembership, headerFromJson, membershipOf, orgOfNode, verifyMemberCert, type Membership, type MemberCert, txFromJson, txId, txToJson, type Block, type ErrorCode, type Genesis, type JsonValue } from '../core/index.ts';
import { BftEngine, isWellFormedProposal, isWellFormedVote, validatorSetFor, verifyEvidence, verifyProposal, Wal, type BftFault, type BftWire, type Evidence } from '../consensus/bft/index.ts';
import type { KeyPair } from '../crypto/index.ts';
import { EncodedPayload, Gossip, LIMITS, P2PNetwork, type AcceptResult, type InvKind, type PayloadOf, type Persistence } from '../p2p/index.ts';
import { encodeBlock, LevelStore, type Store } from '../storage/index.ts';
import type { Logger } from './logger.ts';
import { PeerchainNode } from './node.ts';
import { ProposalCodec } from './proposal-codec.ts';

/** Everything one running node needs. */
export interface RuntimeOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly genesis: Genesis;
  readonly key: KeyPair;
  readonly log: Logger;
  /** Listen for peers on this host; either port may be absent (no listener) or 0 (any free port). */
  readonly host: string;
  readonly wsPort?: number;
  readonly tcpPort?: number;
  readonly peers: readonly string[];
  readonly api?: { readonly host: string; readonly port: number; readonly token?: string };
  readonly mine?: { readonly threads: number; readonly continuous: boolean; readonly coinbase?: string };
  readonly discoverLan?: boolean;
  /** Peers dialed on the node's own initiative from learned addresses (default: the network's, 8). */
  readonly maxOutbound?: number;
  readonly bootstrap?: boolean;
  /** Permissioned networks: allow plaintext links (ws://, tcp://) besides TLS. */
  readonly insecure?: boolean;
  /** A member certificate from an organisation, sent in HELLO (nodes admitted without a new genesis). */
  readonly memberCert?: MemberCert;
  /** Test-only BFT fault mode (PEERCHAIN_FAULT). */
  readonly fault?: BftFault;
  /** Testnet fault injection (the hidden --fault-control flag): serve /api/faults, starting with `faults`. */
  readonly faultControl?: boolean;
  /** Faults in force from the start (a node restarted into a testnet partition must not bridge it, even briefly). */
  readonly faults?: { readonly block?: readonly string[]; readonly delayMs?: number };
  /** The testnet launcher's control URL, reported in /api/network so the explorer can offer its controls. */
  readonly testnetControl?: string;
  /** A store to use instead of LevelDB under dataDir/chain (tests). */
  readonly store?: Store;
  /** Called once the node has stopped itself after a fatal error (a failed store write). */
  readonly onFatal?: (error: Error) => void;
  readonly now?: () => number;
}

// Rule breaks that prove a peer sent garbage, as opposed to a transaction that is
// merely stale or unaffordable from where this node stands.
const PROVABLY_BAD: readonly ErrorCode[] = [ERR.MALFORMED, ERR.TOO_LARGE, ERR.BAD_CHAIN_ID, ERR.BAD_ADDRESS, ERR.BAD_AMOUNT, ERR.BAD_SIGNATURE, ERR.RECORD_KEY, ERR.RECORD_VALUE, ERR.BAD_COINBASE];

// A BLOCKS answer stays well under the 4 MiB frame limit.
const BLOCKS_REPLY_BYTES = 3 * 1024 * 1024;
// Stored blocks read per LevelDB call when serving GET_BLOCKS.
const SERVE_READ_CHUNK = 16;
// Sync requests of each kind one peer may have here at once, the one being answered included.
// Our own Synchronizer has at most one headers request out per peer plus one asked ahead, and
// `requestsPerPeer` (4) body requests; one more of each leaves room for a request it timed out
// and asked again while our answer was on its way. A peer past that asks faster than it reads.
const MAX_HEADER_REQUESTS_PER_PEER = 3;
export const MAX_BLOCK_REQUESTS_PER_PEER = 5;
// A little: a peer whose requests to us timed out may ask again before our answers reach it.
const EXCESS_SYNC_REQUEST_POINTS = 1;

/** A sync request waiting for its answer. */
type SyncRequest = { readonly type: 'GET_HEADERS'; readonly payload: PayloadOf<'GET_HEADERS'> } | { readonly type: 'GET_BLOCKS'; readonly payload: PayloadOf<'GET_BLOCKS'> };

/**
 * Each peer's sync requests, answered one at a time in the order they came.
 * An answer is built only when its turn comes and few requests may wait, so a
 * peer that asks and never reads costs one answer in memory, not one per request.
 */
class SyncServer {
  private readonly queues = new Map<string, SyncRequest[]>();

  constructor(
    private readonly answer: (peer: string, request: SyncRequest) => Promise<void>,
    private readonly log: Logger,
    /** Requests one peer may have waiting, the one being answered included. */
    readonly max: number,
  ) {}

  /** Queues a request; false, and nothing queued, when the peer already has as many as it may. */
  take(peer: string, request: SyncRequest): boolean {
    const queue = this.queues.get(peer);
    if (queue === undefined) {
      const fresh = [request];
      this.queues.set(peer, fresh);
      void this.serve(peer, fresh);
      return true;
    }
    if (queue.length >= this.max) return false;
    queue.push(request);
    return true;
  }

  /** Forgets a departed peer's requests, so none of them is read from the store or built. */
  forget(peer: string): void {
    this.queues.delete(peer);
  }

  private async serve(peer: string, queue: SyncRequest[]): Promise<void> {
    // The request being answered stays at the head, so it counts towards the bound.
    while (queue.length > 0 && this.queues.get(peer) === queue) {
      try {
        await this.answer(peer, queue[0]!);
      } catch (err) {
        this.log.error({ peer: peer.slice(0, 16), err: String(err) }, `could not answer ${queue[0]!.type}`);
      }
      queue.shift();
    }
    if (this.queues.get(peer) === queue) this.queues.delete(peer);
  }
}

function metaPersistence(store: Store, name: string): Persistence {
  return {
    load: () => store.getMeta(name),
    save: (value) => store.putMeta(name, value as JsonValue),
  };
}

/** A transaction the gossip's id lookup already parsed, not raw JSON from the wire. */
function isParsedTx(v: unknown): v is Tx {
  return typeof v === 'object' && v !== null && PARSED.has(v);
}
const PARSED = new WeakSet<object>();

/**
 * Who a node may link with, judged at each handshake against the current
 * membership (genesis, changed by governance) or a member certificate signed
 * by an organisation key. Public: anyone. Private: any member (hybrid P2P, the
 * bootstrap introduces them). Consortium (super-peer): validators link with
 * each other and with their own organisation's members; an ordinary member
 * links only with its organisation's validators and dials only the peers it
 * was given.
 */
export function linkPolicy(
  genesis: Genesis,
  self: string,
  membership: () => Membership | undefined,
  ownCert?: unknown,
): { allows?: (nodeId: string, memberCert: unknown) => boolean; targetOutbound?: number } {
  if (genesis.network === 'public') return {};
  const roleOf = (m: Membership, id: string, cert: unknown): { org: string; validator: boolean } | undefined => {
    const found = orgOfNode(m, id);
    if (found !== undefined) return { org: found.org.name, validator: found.member.validator };
    if (cert === undefined) return undefined;
    const c = verifyMemberCert(cert, m, genesis.chainId, id);
    return c.ok ? { org: c.value.org, validator: false } : undefined;
  };
  const startRole = (() => {
    const m = membership();
    return m === undefined ? undefined : orgOfNode(m, self);
  })();
  return {
    allows: (id, cert) => {
      const m = membership();
      if (m === undefined) return false;
      const peer = roleOf(m, id, cert);
      if (peer === undefined) return false;
      if (genesis.network === 'private') return true;
      const me = roleOf(m, self, ownCert);
      if (me === undefined) return peer.validator;
      if (me.validator && peer.validator) return true;
      return (me.validator || peer.validator) && me.org === peer.org;
    },
    targetOutbound: genesis.network === 'consortium' && startRole?.member.validator !== true ? 0 : undefined,
  };
}

/**
 * One running node: storage, the node core, the P2P network with gossip and
 * sync, and the HTTP API, started and stopped together. The CLI's `peerchain
 * node` and in-process tests both use it.
 */
export class NodeRuntime {
  private apiServer: ApiServer | undefined;
  private readonly peerHeights = new Map<string, number>();
  private bft: BftEngine | undefined;
  private wal: Wal | undefined;
  private readonly evidence: Evidence[] = [];
  /** The two signatures (in canonical order) of each piece of evidence kept. */
  private readonly evidenceKeys = new Set<string>();
  private stopped = false;

  private constructor(
    readonly node: PeerchainNode,
    readonly net: P2PNetwork,
    readonly gossip: Gossip,
    readonly sync: Synchronizer,
    private readonly opts: RuntimeOptions,
    /** Transactions gossip parsed from received bodies, by body object. */
    private readonly parsedTxs: WeakMap<object, Tx>,
  ) {}

  /** Opens everything and starts listening, dialing, syncing and (if asked) mining. */
  static async start(opts: RuntimeOptions): Promise<NodeRuntime> {
    const store = opts.store ?? (await LevelStore.open(join(opts.dataDir, 'chain')));
    let node: PeerchainNode;
    try {
      node = await PeerchainNode.create({ genesis: opts.genesis, store, key: opts.key, log: opts.log, mine: opts.mine, now: opts.now });
    } catch (e) {
      await store.close();
      throw e;
    }
    const policy = linkPolicy(opts.genesis, opts.key.publicKey, () => membershipOf(node.chain.state) ?? genesisMembership(opts.genesis), opts.memberCert);
    const net = new P2PNetwork({
      keys: opts.key,
      network: opts.genesis.network,
      chainId: opts.genesis.chainId,
      genesisHash: node.chain.genesisHash,
      head: () => ({ height: node.chain.height, tip: node.chain.tip.hash }),
      isMember: policy.allows,
      targetOutbound: policy.targetOutbound,
      maxOutbound: opts.maxOutbound,
      memberCert: opts.memberCert,
      tls: opts.genesis.network !== 'public',
      insecure: opts.insecure === true,
      host: opts.host,
      wsPort: opts.wsPort,
      tcpPort: opts.tcpPort,
      peers: opts.peers,
      bootstrap: opts.bootstrap,
      lan: opts.discoverLan === true,
      banPersistence: metaPersistence(store, 'p2p:bans'),
      bookPersistence: metaPersistence(store, 'p2p:book'),
      log: opts.log,
      agent: `peerchain/${opts.name}`,
      faultControl: opts.faultControl === true,
    });
    let rt: NodeRuntime | undefined;
    const parsedTxs = new WeakMap<object, Tx>();
    const gossip = new Gossip(net, {
      provider: {
        has: (kind, id) => (kind === 'tx' ? node.mempool.has(id) : node.chain.knows(id)),
        get: (kind, id) => {
          if (kind === 'tx') {
            const e = node.mempool.get(id);
            return e === undefined ? undefined : txToJson(e.tx);
          }
          const b = node.chain.cachedBlock(id);
          return b === undefined ? undefined : blockToJson(b);
        },
      },
      accept: (kind, id, body, from) => rt!.accept(kind, typeof body === 'object' && body !== null ? (parsedTxs.get(body) ?? body) : body, from),
      idOf: (kind, body) => {
        if (kind === 'tx') {
          const t = txFromJson(body, opts.genesis.params);
          if (!t.ok) return undefined;
          // Parsed once: the acceptor takes this parse instead of decoding the body again.
          if (typeof body === 'object' && body !== null) {
            parsedTxs.set(body, t.value);
            PARSED.add(t.value);
          }
          return txId(t.value);
        }
        const h = headerFromJson((body as { header?: unknown }).header);
        return h.ok ? blockHash(h.value) : undefined;
      },
      log: opts.log,
    });
    const syncNet: SyncNetwork = {
      peers: () => net.peers().map((p) => ({ id: p.id, height: Math.max(p.height, rt?.peerHeights.get(p.id) ?? 0) })),
      requestHeaders: (peer, locator, limit) => net.send(peer, 'GET_HEADERS', { locator, limit }) === 'ok',
      requestBlocks: (peer, hashes) => net.send(peer, 'GET_BLOCKS', { hashes }) === 'ok',
      penalize: (peer, points, reason) => net.penalize(peer, points, reason),
    };
    const sync = new Synchronizer(node.chain, syncNet, { now: opts.now ?? Date.now });
    rt = new NodeRuntime(node, net, gossip, sync, opts, parsedTxs);
    rt.wire(store);
    if (opts.faultControl === true && opts.faults !== undefined) net.setFaults(opts.faults);
    try {
      if (opts.genesis.consensus.type === 'bft') rt.startBft();
      await net.start();
      gossip.start();
      sync.start();
      node.start();
      rt.bft?.start();
      if (opts.api !== undefined) rt.apiServer = await startApi(node, { ...opts.api, peers: rt.peersApi(), stats: () => net.stats(), consensus: rt.consensusApi(), log: opts.log, faults: rt.faultsApi(), testnet: opts.testnetControl === undefined ? undefined : { control: opts.testnetControl } });
    } catch (e) {
      await rt.stop();
      throw e;
    }
    opts.log.info({ name: opts.name, nodeId: opts.key.publicKey, listen: net.listenAddresses(), api: rt.apiServer?.url, height: node.chain.height }, 'node running');
    return rt;
  }

  /** The API's URL, when it runs. */
  get apiUrl(): string | undefined {
    return this.apiServer?.url;
  }

  /** Sync progress (for the terminal bar and status). */
  progress(): SyncProgress {
    return this.sync.progress();
  }

  /** Stops the API, the network and the node, and closes the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.apiServer?.close().catch(() => undefined);
    this.bft?.stop();
    this.wal?.close();
    this.sync.stop();
    this.gossip.stop();
    await this.net.stop().catch(() => undefined);
    await this.node.stop();
  }

  /** BFT consensus status (undefined on a PoW network). */
  consensusStatus(): ReturnType<BftEngine['status']> | undefined {
    return this.bft?.status();
  }

  /** Equivocation evidence this node has seen, newest last. */
  evidenceSeen(): readonly Evidence[] {
    return this.evidence;
  }

  private startBft(): void {
    const { node, net, gossip, opts } = this;
    const bft = opts.genesis.consensus;
    if (bft.type !== 'bft') return;
    const { wal, contents } = Wal.open(join(opts.dataDir, 'consensus', 'wal.ndjson'));
    if (contents.skipped > 0) opts.log.warn({ skipped: contents.skipped }, 'WAL: ignored lines that did not parse (a torn last write)');
    this.wal = wal;
    const validators = () => validatorSetFor(node.chain.state, opts.genesis);
    const proposals = new ProposalCodec(node, gossip, opts.genesis, (body) => this.parsedTxs.get(body));
    // A proposal goes compact to peers that speak protocol 2 and whole to older
    // ones; each form is encoded once however many peers get it.
    const sendProposal = (peers: readonly string[], m: Extract<BftWire, { kind: 'proposal' }>): void => {
      let compact: PayloadOf<'BFT_PROPOSAL'> | undefined;
      let whole: PayloadOf<'BFT_PROPOSAL'> | undefined;
      for (const peer of peers) {
        if ((net.peerVersion(peer) ?? 1) >= 2) net.send(peer, 'BFT_PROPOSAL', (compact ??= proposals.compact(m.proposal, m.block)));
        else net.send(peer, 'BFT_PROPOSAL', (whole ??= ProposalCodec.whole(m.proposal, m.block)));
      }
    };
    this.bft = new BftEngine(
      {
        chainId: opts.genesis.chainId,
        keys: opts.key,
        params: bft,
        log: opts.log,
        now: opts.now,
        tip: () => ({ height: node.chain.height, hash: node.chain.tip.hash, timestamp: node.chain.tip.header.timestamp }),
        validators,
        pendingTxs: () => node.mempool.size,
        buildBlock: (height) => node.buildProposal(height),
        checkBlock: (block) => node.chain.checkCandidate(block),
        checkBody: (block) => node.chain.checkBodyCopy(block),
        commit: async (block) => {
          const r = await node.submitBlock(block);
          if (r.status === 'connected') gossip.announce('block', r.hash);
          else if (r.status === 'invalid') opts.log.error({ hash: r.hash, code: r.error.code }, `own commit refused: ${r.error.message}`);
        },
        broadcast: (m, except) => {
          if (m.kind === 'proposal') sendProposal(net.peerIds().filter((id) => id !== except), m);
          else net.broadcast('BFT_VOTE', { vote: { ...m.vote } }, except);
        },
        sendTo: (peer, m) => {
          if (m.kind === 'proposal') sendProposal([peer], m);
          else net.send(peer, 'BFT_VOTE', { vote: { ...m.vote } });
        },
        validatorPeers: () => {
          const set = validators();
          return net.peerIds().filter((id) => set.has(id));
        },
        onEvidence: (e) => this.recordEvidence(e, undefined),
        fault: opts.fault,
        crash: () => process.kill(process.pid, 'SIGKILL'),
        onStatus: (st) => node.emit('consensus', st),
      },
      wal,
      contents,
    );
    const engine = this.bft;
    node.chain.on('tip', () => engine.onTip());
    node.on('tx', () => engine.onTxs());
    net.on('peer:connected', (p) => engine.onPeerConnected(p.id));
    net.on('BFT_PROPOSAL', (p, from) => {
      // A copy of a proposal already handled: do not decode its block again.
      if (engine.seenProposal(p.proposal, from)) return;
      if (!isWellFormedProposal(p.proposal)) return net.penalize(from, 20, 'malformed BFT proposal');
      const b = proposals.decode(p);
      if (b.status === 'malformed') return net.penalize(from, 20, `malformed BFT proposal: ${b.message}`);
      // Asks the sender for the proposal whole, once per sender, for a proposal of this height
      // signed by its round's proposer; one that is not is the sender's fault, as when it comes whole.
      const proposal = p.proposal;
      const askWhole = (): void => {
        if (proposal.height !== engine.height) return;
        if (validators().proposer(proposal.height, proposal.round) !== proposal.proposer || !verifyProposal(proposal, opts.genesis.chainId)) return net.penalize(from, 20, 'invalid BFT proposal');
        if (proposals.shouldAsk(proposal.blockHash, from)) net.send(from, 'BFT_GET_PROPOSAL', { blockHash: proposal.blockHash });
      };
      // Bodies this node never received.
      if (b.status === 'missing') return askWhole();
      if (b.rebuilt) {
        // Rebuilt from bodies held here, one of which may be a forged copy still waiting in gossip's
        // queue (unchecked, with the real id): a bad signature may be the rebuild's fault, and the
        // block must come whole. The ids are the sender's own list: a tx root that differs is its fault.
        const body = node.chain.checkBodyCopy(b.block);
        if (!body.ok) return body.error.code === ERR.BAD_SIGNATURE ? askWhole() : net.penalize(from, 20, `invalid BFT proposal: ${body.error.message}`);
      }
      if (!engine.onMessage({ kind: 'proposal', proposal: p.proposal, block: b.block }, from)) net.penalize(from, 20, 'invalid BFT proposal');
    });
    net.on('BFT_GET_PROPOSAL', (p, from) => {
      const held = engine.heldProposal(p.blockHash);
      if (held !== undefined) net.send(from, 'BFT_PROPOSAL', ProposalCodec.whole(held.proposal, held.block));
    });
    net.on('EVIDENCE', (p, from) => {
      // Checked against the current set: evidence from an old height with another set is dropped, not punished.
      if (verifyEvidence(p.evidence, validators(), opts.genesis.chainId)) this.recordEvidence(p.evidence, from);
    });
    net.on('BFT_VOTE', (p, from) => {
      if (!isWellFormedVote(p.vote)) return net.penalize(from, 20, 'malformed BFT vote');
      if (!engine.onMessage({ kind: 'vote', vote: p.vote }, from)) net.penalize(from, 20, 'invalid BFT vote');
    });
  }

  private recordEvidence(e: Evidence, from: string | undefined): void {
    // One equivocation, whichever order a node saw its two votes in: kept, put on chain and passed on once.
    const tx = evidenceTx(this.opts.genesis.chainId, e.voteA, e.voteB);
    const key = tx.voteA.signature + tx.voteB.signature;
    if (this.evidenceKeys.has(key)) return;
    this.evidenceKeys.add(key);
    const ordered: Evidence = { voteA: tx.voteA, voteB: tx.voteB };
    this.evidence.push(ordered);
    // The next proposal of this node puts it on chain (any validator's will do).
    this.node.addEvidence(tx);
    if (this.evidence.length > 1000) {
      const old = this.evidence.shift()!;
      this.evidenceKeys.delete(old.voteA.signature + old.voteB.signature);
    }
    this.net.broadcast('EVIDENCE', { evidence: { voteA: { ...ordered.voteA }, voteB: { ...ordered.voteB } } }, from);
  }

  private consensusApi(): ConsensusApi | undefined {
    const bft = this.bft;
    if (bft === undefined) return undefined;
    return {
      status: () => ({ type: 'bft', ...bft.status() }),
      evidence: () =>
        this.evidence.map((e) => {
          // On chain once a block recorded it (the ~evidence/... record), at that block's height.
          const rec = this.node.chain.state.record(evidenceKey(e.voteA));
          return { validator: e.voteA.validator, height: e.voteA.height, round: e.voteA.round, type: e.voteA.type, blockHashes: [e.voteA.blockHash, e.voteB.blockHash], recordedAt: rec?.height ?? null, recordKey: evidenceKey(e.voteA) };
        }),
    };
  }

  private faultsApi(): FaultsApi | undefined {
    if (this.opts.faultControl !== true) return undefined;
    return { get: () => this.net.faults(), set: (f) => this.net.setFaults(f) };
  }

  private peersApi(): PeersApi {
    return {
      list: () => this.net.peers().map((p) => ({ id: p.id, address: p.address, direction: p.direction, height: Math.max(p.height, this.peerHeights.get(p.id) ?? 0), rttMs: p.rttMs })),
      add: async (address) => {
        const r = await this.net.connect(address);
        return r.ok ? { ok: true, status: r.status } : r;
      },
      reported: () => this.net.peerLinks(),
    };
  }

  private async accept(kind: InvKind, body: unknown, from: string): Promise<AcceptResult> {
    const { node } = this;
    if (kind === 'tx') {
      const r = isParsedTx(body) ? node.admitTx(body, 'peer') : node.submitTx(body, 'peer');
      if (r.ok) return 'accepted';
      return PROVABLY_BAD.includes(r.error.code) ? 'rejected' : 'duplicate';
    }
    const parsed = blockFromJson(body, node.genesis.params);
    if (!parsed.ok) return 'rejected';
    const block: Block = parsed.value;
    this.peerHeights.set(from, Math.max(this.peerHeights.get(from) ?? 0, block.header.height));
    const r = await node.submitBlock(block, from);
    switch (r.status) {
      case 'connected':
      case 'reorg':
      case 'side':
        return 'accepted';
      case 'orphan':
        // We are behind or on another branch: fetch what leads to it.
        this.sync.askHeaders(from);
        return 'duplicate';
      case 'duplicate':
        return 'duplicate';
      case 'invalid':
        // Ahead of our clock is no fault of the relayer's: not charged, and sync fetches it once valid.
        return blamesSender(r.error.code) ? 'rejected' : 'duplicate';
    }
  }

  /** Answers one sync request, building the answer only now that its turn has come. */
  private async answerSync(store: Store, peer: string, request: SyncRequest): Promise<void> {
    if (request.type === 'GET_HEADERS') {
      const { locator, limit, stop } = request.payload;
      await this.net.sendReliably(peer, 'HEADERS', { headers: this.node.chain.headersAfter(locator, limit, stop).map((h) => ({ ...h })) });
      return;
    }
    const texts = await this.blockTexts(store, request.payload.hashes);
    // A slow reader must get every answer it is allowed: wait for its buffer rather than drop one.
    await this.net.sendReliably(peer, 'BLOCKS', new EncodedPayload('BLOCKS', `{"blocks":[${texts.join(',')}]}`));
  }

  /** The wire text of the blocks asked for that this node holds, in the order asked, within the reply limit. */
  private async blockTexts(store: Store, asked: readonly string[]): Promise<string[]> {
    // Stored blocks go out as the JSON text they were stored in (their wire form), not decoded and encoded again.
    const texts: string[] = [];
    let bytes = 0;
    // Read a few at a time, so a request for large blocks stops reading at the reply limit.
    for (let i = 0; i < asked.length && bytes <= BLOCKS_REPLY_BYTES; i += SERVE_READ_CHUNK) {
      const hashes = asked.slice(i, i + SERVE_READ_CHUNK);
      const cached = hashes.map((h) => this.node.chain.cachedBlock(h));
      const missing = hashes.filter((_, j) => cached[j] === undefined);
      const stored = missing.length === 0 ? [] : await store.getBlockTexts(missing);
      let k = 0;
      for (let j = 0; j < hashes.length; j++) {
        const b = cached[j];
        const text = b !== undefined ? encodeBlock(b) : stored[k++];
        if (text === undefined) continue;
        // Damaged storage must not go out as a frame the peer blames on us: a stored block is one JSON object.
        if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) {
          this.opts.log.error({ hash: hashes[j] }, 'a stored block is damaged (not a JSON object); not serving it');
          continue;
        }
        bytes += text.length + 1;
        if (bytes > BLOCKS_REPLY_BYTES && texts.length > 0) break;
        texts.push(text);
      }
    }
    return texts;
  }

  private wire(store: Store): void {
    const { net, node, gossip, sync } = this;
    // Memory ran ahead of a write that failed: nothing more can be stored in
    // order, so the node stops rather than serve a chain it cannot keep.
    node.chain.once('storeFailed', ({ error }) => {
      this.opts.log.fatal({ err: error.message }, 'could not write blocks to the store; stopping (restarted, the node resumes from the last stored block)');
      void this.stop()
        .catch((err: unknown) => this.opts.log.error({ err: String(err) }, 'error while stopping'))
        .finally(() => this.opts.onFatal?.(error));
    });
    node.on('mined', ({ hash }) => gossip.announce('block', hash));
    // A block from a peer goes on as soon as it is known valid; storing it can follow.
    node.chain.on('valid', ({ hash }) => {
      if (node.isMining(hash)) gossip.announce('block', hash);
      else gossip.relayValid(hash);
    });
    node.on('tx', ({ id, from }) => {
      if (from !== 'peer') gossip.announce('tx', id);
    });
    // Answers of each kind go out in the order the requests came, one at a time per peer; headers
    // do not wait behind bodies (a syncing peer needs both at once). A request past the bound
    // comes from a peer that does not read its answers: it is dropped, and the peer charged.
    const answer = (peer: string, request: SyncRequest): Promise<void> => this.answerSync(store, peer, request);
    const servers = { GET_HEADERS: new SyncServer(answer, this.opts.log, MAX_HEADER_REQUESTS_PER_PEER), GET_BLOCKS: new SyncServer(answer, this.opts.log, MAX_BLOCK_REQUESTS_PER_PEER) };
    const take = (peer: string, request: SyncRequest): void => {
      const server = servers[request.type];
      if (!server.take(peer, request)) net.penalize(peer, EXCESS_SYNC_REQUEST_POINTS, `more than ${server.max} ${request.type} requests waiting`);
    };
    net.on('GET_HEADERS', (payload, from) => take(from, { type: 'GET_HEADERS', payload }));
    net.on('GET_BLOCKS', (payload, from) => take(from, { type: 'GET_BLOCKS', payload }));
    net.on('HEADERS', (p, from) => {
      sync.onHeaders(from, p.headers).catch((err: unknown) => {
        if (!(err instanceof ChainClosedError)) this.opts.log.error({ err: String(err) }, 'could not take in a batch of synced headers');
      });
    });
    net.on('BLOCKS', (p, from) => {
      // A failure here is this node's (its store), not the peer's: say so and let sync ask again.
      sync.onBlocks(from, p.blocks).catch((err: unknown) => {
        if (!(err instanceof ChainClosedError)) this.opts.log.error({ err: String(err) }, 'could not take in a batch of synced blocks');
      });
    });
    net.on('peer:connected', (p) => {
      sync.tick();
      // A transaction admitted while this node had no peers (or before this link)
      // would otherwise never spread: tell a new peer what the pool holds.
      const ids = node.mempool.ids(LIMITS.invIds);
      if (ids.length > 0) net.send(p.id, 'INV', { kind: 'tx', ids });
    });
    net.on('peer:disconnected', (d) => {
      this.peerHeights.delete(d.id);
      for (const server of Object.values(servers)) server.forget(d.id);
      sync.peerGone(d.id);
    });
  }
}
