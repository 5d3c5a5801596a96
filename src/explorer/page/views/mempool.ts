/** `#/mempool`: pending transactions, highest fee rate first, refreshed as transactions come and go. */
import { getJson } from '../api.ts';
import type { App, Dispose, View } from '../app.ts';
import { accountLink, ago, amount, card, debounce, h, int, note, put, table, txLink } from '../dom.ts';
import type { Mempool, MempoolEntry } from '../types.ts';

/** Fee per byte, for ordering and display. */
function feeRate(e: MempoolEntry): number {
  return Number(e.fee) / Math.max(1, e.size);
}

/** Highest fee rate first, then highest fee, then oldest. */
function byFee(a: MempoolEntry, b: MempoolEntry): number {
  return feeRate(b) - feeRate(a) || Number(BigInt(b.fee) - BigInt(a.fee)) || a.addedAt - b.addedAt;
}

/** A live table of the `limit` best-paying pending transactions. */
export function mempoolTable(app: App, limit: number): { el: HTMLElement; dispose: Dispose } {
  const el = h('div', { class: 'mempool' }, note('loading…'));
  let gone = false;
  const load = async (): Promise<void> => {
    try {
      const m = await getJson<Mempool>(`/api/mempool?limit=${Math.max(limit, 100)}`);
      if (gone) return;
      const txs = m.txs.slice().sort(byFee).slice(0, limit);
      const now = Date.now();
      put(
        el,
        h('p', { class: 'note muted' }, `${int(m.size)} pending, ${int(m.bytes)} bytes`),
        txs.length === 0
          ? null
          : table(
              ['Fee', '~Fee / byte', 'Kind', 'Sender', '~Nonce', 'Age', 'Id'],
              txs.map((e) => [amount(e.fee), feeRate(e).toFixed(3), e.kind, accountLink(e.sender, 10), String(e.nonce), ago(e.addedAt, now), txLink(e.id, 10)]),
              { class: 'mempool-table' },
            ),
      );
    } catch (e) {
      if (!gone) put(el, note(`cannot load the mempool: ${e instanceof Error ? e.message : String(e)}`, 'error'));
    }
  };
  const refresh = debounce(() => void load(), 300);
  void load();
  const offs = ['tx', 'txRemoved', 'block', 'reorg', 'resync'].map((t) => app.live.on(t, refresh));
  return {
    el,
    dispose: () => {
      gone = true;
      refresh.cancel();
      offs.forEach((off) => off());
    },
  };
}

/** Renders the mempool view. */
export const mempoolView: View = (root, _arg, app) => {
  const t = mempoolTable(app, 200);
  root.append(card('Mempool: pending transactions by fee', t.el));
  return t.dispose;
};
