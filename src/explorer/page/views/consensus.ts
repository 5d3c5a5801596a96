/**
 * `#/consensus`: for PoW, difficulty, hash-rate and block-time charts and the
 * reorganisations seen live; for BFT, the current height, round and step and
 * which validators voted, read from GET /api/consensus and `consensus` events.
 * A node without /api/consensus (404) simply has no BFT panel.
 */
import { ApiFailure, getJson } from '../api.ts';
import { every, type App, type Dispose, type View } from '../app.ts';
import { Chart } from '../chart.ts';
import { ago, blockLink, card, debounce, details, duration, h, mono, note, put, si, table } from '../dom.ts';
import { blockTimes, difficulty, hashRate, meanOfLast, throughput } from '../stats.ts';
import type { Network } from '../types.ts';

/** A vote as GET /api/consensus lists it. */
interface VoteSeen {
  validator: string;
  blockHash: string | null;
}

/** What the page reads from GET /api/consensus (api/types.ts ConsensusView). */
interface BftState {
  height: number;
  round: number;
  step: string;
  proposer?: string;
  /** Validator node ids in proposer order. */
  validators: string[];
  lockedRound: number;
  /** The current round's votes. */
  prevotes: VoteSeen[];
  precommits: VoteSeen[];
  lastCommit?: { height: number; round: number; signers: number };
}

const POLL_MS = 2000;

/** How a vote reads in a cell: a hash, nil, or nothing yet. */
function voteCell(v: unknown): HTMLElement {
  if (v === undefined || v === false) return h('span', { class: 'vote none', title: 'no vote seen' }, '–');
  if (v === null) return h('span', { class: 'vote nil', title: 'voted nil' }, 'nil');
  if (typeof v === 'string') return h('span', { class: 'vote yes', title: v }, '✓ ', mono(v, 8));
  return h('span', { class: 'vote yes' }, '✓');
}

/** The BFT state and vote table; hides itself if the node has no /api/consensus. */
function bftPanel(app: App): { el: HTMLElement; dispose: Dispose } {
  const el = h('div', { class: 'bft-panel' }, note('loading consensus state…'));
  let stopped = false;
  let net: Network | undefined;
  const load = async (): Promise<void> => {
    let st: BftState;
    try {
      [st, net] = await Promise.all([getJson<BftState>('/api/consensus'), net === undefined ? app.network() : Promise.resolve(net)]);
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 404) {
        // This node does not serve BFT state: hide the panel and stop asking.
        el.hidden = true;
        stop();
        return;
      }
      put(el, note(`cannot load /api/consensus: ${e instanceof Error ? e.message : String(e)}`, 'error'));
      return;
    }
    if (stopped) return;
    el.hidden = false;
    const names = new Map((net?.nodes ?? []).map((n) => [n.id, n.name ?? n.id.slice(0, 8)]));
    const voteOf = (list: readonly VoteSeen[], id: string): unknown => {
      const v = list.find((x) => x.validator === id);
      return v === undefined ? undefined : v.blockHash;
    };
    const rows = st.validators.map((id) => [names.get(id) ?? mono(id, 10), voteCell(voteOf(st.prevotes, id)), voteCell(voteOf(st.precommits, id))]);
    put(
      el,
      details([
        ['Height', String(st.height)],
        ['Round', String(st.round)],
        ['Step', h('span', { class: 'step' }, st.step)],
        ['Proposer', st.proposer === undefined ? '–' : (names.get(st.proposer) ?? mono(st.proposer, 10))],
        ['Locked in round', st.lockedRound < 0 ? 'not locked' : String(st.lockedRound)],
        ['Last commit', st.lastCommit === undefined ? '–' : `height ${st.lastCommit.height}, round ${st.lastCommit.round}, ${st.lastCommit.signers} signatures`],
      ]),
      rows.length === 0 ? note('no validators listed') : table(['Validator', 'Prevote', 'Precommit'], rows, { class: 'votes-table' }),
    );
  };
  const refresh = debounce(() => void load(), 200);
  const off = app.live.on('consensus', refresh);
  const offResync = app.live.on('resync', refresh);
  const stopPoll = every(POLL_MS, () => void load());
  const stop = (): void => {
    stopped = true;
    stopPoll();
    off();
    offResync();
    refresh.cancel();
  };
  return { el, dispose: stop };
}

/** PoW figures for a small panel: difficulty, hash rates, block time against its target. */
function powFigures(app: App, net: Network | undefined): HTMLElement {
  const blocks = app.chain.blocks;
  const diff = meanOfLast(difficulty(blocks), 1);
  const times = blockTimes(blocks);
  return details([
    ['Difficulty', `${si(diff)} hashes per block`],
    ['Network hash rate', `${si(meanOfLast(hashRate(blocks), 1), 'H/s')} (estimated from work and block times)`],
    ['This node mines', app.status?.mining === true ? `yes, ${si(app.status.hashRate, 'H/s')}` : 'no'],
    ['Block time', `${duration(meanOfLast(times, 10) * 1000)} (mean of last 10)${net?.targetBlockTimeMs === undefined ? '' : `, target ${duration(net.targetBlockTimeMs)}`}`],
    ['Reorganisations seen', String(app.chain.reorgs.length)],
  ]);
}

/** The overview's consensus panel: PoW figures, or the BFT panel. */
export function consensusSummary(app: App): { el: HTMLElement; dispose: Dispose } {
  const el = h('div', null, note('loading…'));
  const disposers: Dispose[] = [];
  let kind: string | undefined;
  let net: Network | undefined;
  disposers.push(
    app.onStatus((s) => {
      if (kind === s.consensus) {
        if (kind === 'pow') put(el, powFigures(app, net));
        return;
      }
      kind = s.consensus;
      if (kind === 'pow') {
        const draw = (): void => put(el, powFigures(app, net));
        app.network().then((n) => ((net = n), draw()), () => undefined);
        draw();
        disposers.push(app.chain.onChange(draw));
      } else {
        const p = bftPanel(app);
        put(el, h('p', { class: 'note muted' }, 'BFT: blocks are final once committed.'), p.el);
        disposers.push(p.dispose);
      }
    }),
  );
  return { el, dispose: () => disposers.forEach((d) => d()) };
}

/** The forks and reorganisations seen since the page opened, and refused blocks. */
function forkLog(app: App): HTMLElement {
  const reorgs = app.chain.reorgs;
  const invalid = app.chain.invalid;
  return h(
    'div',
    { class: 'fork-log' },
    reorgs.length === 0
      ? note('No reorganisation since this page opened. When a branch with more work arrives, the node switches to it and it shows here.')
      : table(
          ['When', 'Fork point', 'Dropped', 'Added', '~New tip'],
          reorgs.map((r) => [ago(r.time), blockLink(r.fork, mono(r.fork, 10)), `${r.disconnected.length} block${r.disconnected.length === 1 ? '' : 's'}`, `${r.connected.length} block${r.connected.length === 1 ? '' : 's'}`, r.connected.length === 0 ? '' : blockLink(r.connected[r.connected.length - 1]!, mono(r.connected[r.connected.length - 1]!, 10))]),
          { class: 'reorg-table' },
        ),
    invalid.length === 0 ? null : h('h3', null, 'Refused blocks'),
    invalid.length === 0 ? null : table(['When', 'Block', 'Why'], invalid.map((x) => [ago(x.time), mono(x.hash, 10), `${x.code}: ${x.message}`])),
  );
}

/** Renders the consensus view. */
export const consensusView: View = (root, _arg, app) => {
  const disposers: Dispose[] = [];
  let built = false;
  disposers.push(
    app.onStatus((s) => {
      if (built) return;
      built = true;
      if (s.consensus === 'pow') {
        const figures = h('div');
        const diff = new Chart({ label: 'difficulty', format: (y) => si(y) });
        const rate = new Chart({ label: 'network hash rate', format: (y) => si(y, 'H/s') });
        const times = new Chart({ label: 'block time', kind: 'bars', format: (y) => duration(y * 1000) });
        const log = h('div');
        let net: Network | undefined;
        const draw = (): void => {
          const blocks = app.chain.blocks;
          put(figures, powFigures(app, net));
          diff.update(difficulty(blocks));
          rate.update(hashRate(blocks));
          const target = net?.targetBlockTimeMs;
          times.update(blockTimes(blocks), target === undefined ? undefined : { y: target / 1000, label: `target ${duration(target)}` });
          put(log, forkLog(app));
        };
        root.append(
          h(
            'div',
            { class: 'grid two' },
            card('Proof of Work', figures),
            card('Forks and reorganisations', log),
            card('Difficulty (expected hashes per block)', diff.el),
            card('Network hash rate', rate.el),
            card('Block time', times.el),
          ),
        );
        app.network().then((n) => ((net = n), draw()), () => undefined);
        draw();
        disposers.push(app.chain.onChange(draw), every(5000, draw), () => diff.dispose(), () => rate.dispose(), () => times.dispose());
      } else {
        const p = bftPanel(app);
        const tps = new Chart({ label: 'transactions per second', format: (y) => y.toFixed(2) });
        const times = new Chart({ label: 'block time', kind: 'bars', format: (y) => duration(y * 1000) });
        const draw = (): void => {
          tps.update(throughput(app.chain.blocks, false));
          times.update(blockTimes(app.chain.blocks));
        };
        root.append(h('div', { class: 'grid two' }, card('BFT: height, round, step and votes', p.el), card('Block time', times.el), card('Transactions per second', tps.el)));
        draw();
        disposers.push(p.dispose, app.chain.onChange(draw), () => tps.dispose(), () => times.dispose());
      }
      root.append(h('p', { class: 'note muted' }, 'Charts cover the most recent main-chain blocks (up to 100) and move with each new one.'));
    }),
  );
  return () => disposers.forEach((d) => d());
};
