/**
 * consensus/bft state machine, driven by a deterministic in-memory simulation:
 * a message bus between 4 validators, simulated time, timeouts fired by the test.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyPairFromSeed, sha256, toHex, type Hash, type KeyPair } from '../../src/crypto/index.ts';
import { rng } from '../integration/fixtures/chain.ts';
import {
  BftStateMachine,
  signProposal,
  signVote,
  ValidatorSet,
  verifyCommit,
  type BftAction,
  type BftMessage,
  type Evidence,
  type Vote,
} from '../../src/consensus/bft/index.ts';

const CHAIN = 'peerchain-bft-test';
const PARAMS = { timeoutProposeMs: 100, timeoutVoteMs: 50 };
const N = 4;
const KEYS: KeyPair[] = Array.from({ length: N }, (_, i) => keyPairFromSeed(Buffer.alloc(32, i + 1)));
const VSET = new ValidatorSet(KEYS.map((k) => k.publicKey));
const key = (i: number): KeyPair => KEYS[i] as KeyPair;

// A seeded PRNG (shared with the crash test): the simulation must replay exactly.
const prng = rng;

const blockHash = (...parts: (string | number)[]): Hash => toHex(sha256(Buffer.from(parts.join(':'))));
const slot = (v: Vote): string => `${v.height}/${v.round}/${v.type}`;

type Event =
  | { at: number; seq: number; to: number; kind: 'msg'; m: BftMessage }
  | { at: number; seq: number; to: number; kind: 'timeout'; timeout: 'propose' | 'prevote' | 'precommit'; height: number; round: number };

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface SimOptions {
  silent?: readonly number[];
  /** This validator equivocates: every vote and proposal it sends goes out in two versions. */
  byzantine?: number;
  seed?: number;
  dropRate?: number;
  maxDelay?: number;
  targetHeight?: number;
  maxEvents?: number;
  /** Probability, per event, that a random honest validator crashes and restarts from its WAL. */
  restartRate?: number;
}

class Sim {
  readonly machines: (BftStateMachine | undefined)[] = [];
  readonly wal: Vote[][] = Array.from({ length: N }, () => []);
  /** Every vote each validator broadcast, across incarnations. */
  readonly sent: Vote[][] = Array.from({ length: N }, () => []);
  readonly commits = new Map<number, Map<number, Hash>>();
  readonly evidence: Evidence[][] = Array.from({ length: N }, () => []);
  readonly incarnation: number[] = new Array<number>(N).fill(0);
  private queue: Event[] = [];
  private seq = 0;
  now = 0;
  events = 0;
  private readonly rand: () => number;
  private readonly silent: Set<number>;

  constructor(readonly o: SimOptions = {}) {
    this.rand = prng(o.seed ?? 1);
    this.silent = new Set(o.silent ?? []);
    for (let i = 0; i < N; i++) this.machines.push(this.silent.has(i) ? undefined : this.newMachine(i));
  }

  private newMachine(i: number): BftStateMachine {
    return new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: key(i), params: PARAMS, isValid: () => true, signedVotes: [...this.wal[i]!] });
  }

  get honest(): number[] {
    return [...Array(N).keys()].filter((i) => !this.silent.has(i) && i !== this.o.byzantine);
  }

  start(): this {
    for (let i = 0; i < N; i++) {
      const m = this.machines[i];
      if (m) this.handle(i, m.start(1));
    }
    return this;
  }

  /** Crashes validator i and rebuilds it from its WAL at the height it was working on. */
  restart(i: number): void {
    const old = this.machines[i];
    if (!old) return;
    this.incarnation[i]! += 1;
    const m = this.newMachine(i);
    this.machines[i] = m;
    this.handle(i, m.start(Math.max(1, old.height)));
  }

  private push(e: DistOmit<Event, 'seq'>): void {
    this.queue.push({ ...e, seq: this.seq++ } as Event);
  }

  private send(from: number, to: number, m: BftMessage): void {
    if (this.silent.has(to)) return;
    if (this.rand() < (this.o.dropRate ?? 0)) return;
    const delay = 1 + Math.floor(this.rand() * (this.o.maxDelay ?? 0));
    void from;
    this.push({ at: this.now + delay, to, kind: 'msg', m });
  }

  private twin(from: number, m: BftMessage): BftMessage {
    // The byzantine twin of a message: same slot, another block.
    const other = blockHash('evil', this.now, this.seq);
    if (m.kind === 'vote') return { kind: 'vote', vote: signVote(key(from), { ...m.vote, blockHash: m.vote.blockHash === null ? other : null }, CHAIN) };
    return { kind: 'proposal', proposal: signProposal(key(from), { ...m.proposal, blockHash: other, polRound: -1 }, CHAIN) };
  }

  handle(i: number, actions: BftAction[]): void {
    const m = this.machines[i];
    for (const a of actions) {
      switch (a.kind) {
        case 'wal':
          this.wal[i]!.push(a.vote);
          break;
        case 'broadcast': {
          if (a.message.kind === 'vote') {
            const v = a.message.vote;
            // The WAL rule: a vote is on disk before it leaves.
            assert.ok(this.wal[i]!.some((w) => w.signature === v.signature), 'vote broadcast before its WAL record');
            this.sent[i]!.push(v);
          }
          const twin = i === this.o.byzantine ? this.twin(i, a.message) : undefined;
          // Odd validators also get the twin, first: they count it and, when the
          // original arrives too, hold evidence; even ones see only the original.
          for (let to = 0; to < N; to++) {
            if (to === i) continue;
            if (twin !== undefined && to % 2 === 1) this.send(i, to, twin);
            this.send(i, to, a.message);
          }
          break;
        }
        case 'schedule-timeout':
          this.push({ at: this.now + a.delayMs, to: i, kind: 'timeout', timeout: a.timeout, height: a.height, round: a.round });
          break;
        case 'propose-request':
          if (m) this.handle(i, m.propose(a.height, a.round, blockHash('block', a.height, a.round, i, this.incarnation[i]!)));
          break;
        case 'commit': {
          assert.deepEqual(verifyCommit(a.certificate, VSET, CHAIN, { height: a.height, blockHash: a.blockHash }), { ok: true });
          let h = this.commits.get(a.height);
          if (!h) this.commits.set(a.height, (h = new Map()));
          h.set(i, a.blockHash);
          if (m && a.height < (this.o.targetHeight ?? 5)) this.handle(i, m.start(a.height + 1));
          break;
        }
        case 'evidence':
          this.evidence[i]!.push(a.evidence);
          break;
      }
    }
  }

  /** Runs until nothing is left to do or the event budget is spent. */
  run(): this {
    const max = this.o.maxEvents ?? 20_000;
    while (this.queue.length > 0 && this.events < max) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const e = this.queue.shift()!;
      this.now = Math.max(this.now, e.at);
      this.events++;
      if (this.o.restartRate && this.rand() < this.o.restartRate) {
        const hs = this.honest;
        this.restart(hs[Math.floor(this.rand() * hs.length)]!);
      }
      const m = this.machines[e.to];
      if (!m) continue;
      this.handle(e.to, e.kind === 'msg' ? m.onMessage(e.m) : m.onTimeout(e.timeout, e.height, e.round));
    }
    return this;
  }

  /** Safety: at each height, at most one block is committed by anyone honest. */
  assertNoConflictingCommits(): void {
    for (const [h, byNode] of this.commits) {
      const hashes = new Set([...byNode].filter(([i]) => i !== this.o.byzantine).map(([, b]) => b));
      assert.ok(hashes.size <= 1, `two different blocks committed at height ${h}`);
    }
  }

  /** No honest validator ever signed two votes for one slot with different hashes, across restarts. */
  assertNoConflictingVotes(): void {
    for (const i of this.honest) {
      const bySlot = new Map<string, Hash | null>();
      for (const v of [...this.wal[i]!, ...this.sent[i]!]) {
        const prior = bySlot.get(slot(v));
        if (prior !== undefined) assert.equal(v.blockHash, prior, `validator ${i} signed conflicting votes at ${slot(v)}`);
        else bySlot.set(slot(v), v.blockHash);
      }
    }
  }
}

describe('BFT state machine: simulation of 4 validators', () => {
  test('all commit the same block at heights 1..5', () => {
    const sim = new Sim({ targetHeight: 5 }).start().run();
    for (let h = 1; h <= 5; h++) {
      const byNode = sim.commits.get(h);
      assert.ok(byNode, `height ${h} committed`);
      assert.equal(byNode.size, 4);
      assert.equal(new Set(byNode.values()).size, 1);
    }
    assert.equal(sim.commits.has(6), false);
    sim.assertNoConflictingVotes();
  });

  test('with 1 of 4 silent the other 3 still commit heights 1..5', () => {
    for (const silent of [0, 1, 2, 3]) {
      const sim = new Sim({ silent: [silent], targetHeight: 5 }).start().run();
      for (let h = 1; h <= 5; h++) {
        const byNode = sim.commits.get(h);
        assert.ok(byNode, `height ${h} committed with validator ${silent} silent`);
        assert.equal(byNode.size, 3);
        assert.equal(new Set(byNode.values()).size, 1);
      }
    }
  });

  test('with 2 of 4 silent nobody commits', () => {
    for (const silent of [[0, 1], [1, 2], [0, 3]]) {
      const sim = new Sim({ silent, targetHeight: 5, maxEvents: 5000 }).start().run();
      assert.equal(sim.commits.size, 0);
      sim.assertNoConflictingVotes();
    }
  });

  test('a validator that double-votes is caught as evidence', () => {
    const sim = new Sim({ byzantine: 3, targetHeight: 3 }).start().run();
    const caught = sim.honest.some((i) => sim.evidence[i]!.some((e) => e.voteA.validator === key(3).publicKey));
    assert.ok(caught, 'someone holds evidence against validator 3');
    for (const i of sim.honest) {
      for (const e of sim.evidence[i]!) {
        assert.equal(e.voteA.validator, e.voteB.validator);
        assert.equal(slot(e.voteA), slot(e.voteB));
        assert.notEqual(e.voteA.blockHash, e.voteB.blockHash);
      }
    }
    sim.assertNoConflictingCommits();
    // The three honest validators still make progress.
    assert.ok(sim.commits.get(1) !== undefined);
  });

  test('evidence from a directly injected double vote', () => {
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: key(0), params: PARAMS, isValid: () => true });
    m.start(1);
    const a = signVote(key(2), { type: 'prevote', height: 1, round: 0, blockHash: blockHash('x') }, CHAIN);
    const b = signVote(key(2), { type: 'prevote', height: 1, round: 0, blockHash: blockHash('y') }, CHAIN);
    assert.deepEqual(m.onVote(a).filter((x) => x.kind === 'evidence'), []);
    assert.deepEqual(m.onVote(b).filter((x) => x.kind === 'evidence'), [{ kind: 'evidence', evidence: { voteA: a, voteB: b } }]);
  });

  test('randomized orders, delays, drops, an equivocator and restarts never yield two commits at one height', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 0.4, noNaN: true }),
        fc.integer({ min: 0, max: 300 }),
        fc.option(fc.integer({ min: 0, max: N - 1 }), { nil: undefined }),
        fc.constantFrom(0, 0, 0.002, 0.01),
        (seed, dropRate, maxDelay, byzantine, restartRate) => {
          const sim = new Sim({ seed, dropRate, maxDelay, byzantine, restartRate, targetHeight: 4, maxEvents: 4000 }).start().run();
          sim.assertNoConflictingCommits();
          sim.assertNoConflictingVotes();
        },
      ),
      { numRuns: 60, seed: 20240601 },
    );
  });
});

describe('BFT state machine: restart from the WAL', () => {
  const A = blockHash('A');
  const B = blockHash('B');
  const proposer10 = VSET.proposer(1, 0); // validator 1

  test('re-sends its old vote instead of signing a conflicting one', () => {
    const me = key(0);
    const old = signVote(me, { type: 'prevote', height: 1, round: 0, blockHash: A }, CHAIN);
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: me, params: PARAMS, isValid: () => true, signedVotes: [old] });
    m.start(1);
    assert.equal(proposer10, key(1).publicKey);
    const acts = m.onProposal(signProposal(key(1), { height: 1, round: 0, blockHash: B, polRound: -1 }, CHAIN));
    assert.deepEqual(acts.filter((a) => a.kind === 'wal'), [], 'nothing new signed');
    const votes = acts.flatMap((a) => (a.kind === 'broadcast' && a.message.kind === 'vote' ? [a.message.vote] : []));
    assert.deepEqual(votes, [old]);
  });

  test('restores its lock from its last precommit and prevotes nil for another block', () => {
    const me = key(0);
    const wal = [
      signVote(me, { type: 'prevote', height: 1, round: 0, blockHash: A }, CHAIN),
      signVote(me, { type: 'precommit', height: 1, round: 0, blockHash: A }, CHAIN),
    ];
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: me, params: PARAMS, isValid: () => true, signedVotes: wal });
    m.start(1);
    assert.deepEqual(m.lock, { value: A, round: 0 });
    // Round 1 by timeout: its proposer (validator 2) offers B without a proof of lock.
    m.onTimeout('precommit', 1, 0);
    assert.equal(m.round, 1);
    const acts = m.onProposal(signProposal(key(2), { height: 1, round: 1, blockHash: B, polRound: -1 }, CHAIN));
    const votes = acts.flatMap((a) => (a.kind === 'broadcast' && a.message.kind === 'vote' ? [a.message.vote] : []));
    assert.equal(votes.length, 1);
    assert.equal(votes[0]!.type, 'prevote');
    assert.equal(votes[0]!.blockHash, null);
  });

  test('a WAL write precedes every vote broadcast, as a separate earlier action', () => {
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: key(0), params: PARAMS, isValid: () => true });
    m.start(1);
    const acts = m.onProposal(signProposal(key(1), { height: 1, round: 0, blockHash: A, polRound: -1 }, CHAIN));
    const wi = acts.findIndex((a) => a.kind === 'wal');
    const bi = acts.findIndex((a) => a.kind === 'broadcast' && a.message.kind === 'vote');
    assert.ok(wi >= 0 && bi > wi);
  });

  test('restarting a proposer that would propose another block never makes it vote twice', () => {
    // Validator 1 proposes at (1, 0); crash it right after it prevoted, then let it run again.
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Sim({ seed, maxDelay: 20, targetHeight: 3 }).start();
      const firstPrevote = sim.wal[1]!.find((v) => v.type === 'prevote');
      assert.ok(firstPrevote);
      sim.restart(1); // its new incarnation builds a different block if asked
      sim.run();
      sim.assertNoConflictingVotes();
      sim.assertNoConflictingCommits();
      assert.ok(sim.commits.get(3)?.size === 4, 'all still reach height 3');
    }
  });

  test('timeouts grow with the round', () => {
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: key(0), params: PARAMS, isValid: () => true });
    const delays = [m.start(1)];
    delays.push(m.onTimeout('propose', 1, 0));
    delays.push(m.onTimeout('precommit', 1, 0));
    delays.push(m.onTimeout('precommit', 1, 1));
    const proposeDelays = delays.flat().flatMap((a) => (a.kind === 'schedule-timeout' && a.timeout === 'propose' ? [a.delayMs] : []));
    assert.deepEqual(proposeDelays, [100, 150, 200]);
  });

  test('ignores votes with a wrong chainId and from non-validators', () => {
    const m = new BftStateMachine({ chainId: CHAIN, validators: VSET, keys: key(0), params: PARAMS, isValid: () => true });
    m.start(1);
    const outsider = keyPairFromSeed(Buffer.alloc(32, 99));
    for (const i of [1, 2, 3]) m.onVote(signVote(key(i), { type: 'precommit', height: 1, round: 0, blockHash: A }, 'other-chain'));
    for (let s = 0; s < 3; s++) m.onVote(signVote(outsider, { type: 'precommit', height: 1, round: 0, blockHash: A }, CHAIN));
    assert.notEqual(m.step, 'decided');
    const acts = [1, 2, 3].flatMap((i) => m.onVote(signVote(key(i), { type: 'precommit', height: 1, round: 0, blockHash: A }, CHAIN)));
    assert.equal(acts.filter((a) => a.kind === 'commit').length, 1);
    assert.equal(m.step, 'decided');
  });
});
