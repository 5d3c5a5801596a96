/** `#/account/ADDRESS`: balance, nonce, and the account's transactions (pending, then recent blocks, older on demand). */
import { getJson, seg } from '../api.ts';
import type { View } from '../app.ts';
import { accountLink, ago, amount, blockLink, card, debounce, details, h, int, note, put, recordLink, table, txLink, type Child } from '../dom.ts';
import type { Account, AccountTx, AccountTxs } from '../types.ts';

/** What a transaction did to this account. */
function effect(t: AccountTx): Child {
  if (t.kind === 'record') return ['set ', recordLink(t.key ?? '')];
  if (t.amount === undefined) return t.kind;
  const sign = t.direction === 'in' ? '+' : t.direction === 'out' ? '−' : '±';
  return h('span', { class: `flow ${t.direction}` }, `${sign}${amount(t.amount)}`);
}

/** The other side of a transaction, seen from this account. */
function counterpart(t: AccountTx): Child {
  if (t.kind === 'coinbase') return 'block reward';
  if (t.to === undefined) return '';
  if (t.direction === 'in') return ['from ', accountLink(t.from ?? '', 10)];
  if (t.direction === 'out') return ['to ', accountLink(t.to ?? '', 10)];
  return 'to itself';
}

function txRows(txs: readonly AccountTx[], now: number): Child[][] {
  return txs.map((t) => [t.height === undefined ? 'pending' : blockLink(t.height), txLink(t.id, 10), t.kind, effect(t), counterpart(t), amount(t.fee), t.timestamp === undefined ? '' : ago(t.timestamp, now)]);
}

const HEADERS = ['Block', 'Id', 'Kind', 'Amount', 'Counterpart', '~Fee', '~Age'];

/** Renders an account. */
export const accountView: View = (root, arg, app) => {
  let gone = false;
  const summary = h('div', null, note('loading account…'));
  const activity = h('div', null, note('loading transactions…'));
  const older = h('div');
  let olderLoaded = false;
  root.append(card(['Account ', h('code', { class: 'mono wrap', id: 'account-address' }, arg)], summary), card('Transactions', activity, older));

  const loadSummary = async (): Promise<void> => {
    try {
      const a = await getJson<Account>(`/api/accounts/${seg(arg)}`);
      if (gone) return;
      const rows: [string, Child][] = [
        ['Balance', h('span', { class: 'balance', id: 'account-balance' }, amount(a.balance))],
        ['Nonce', `${a.nonce} (next transaction uses ${a.pendingNonce})`],
        ['Pending here', String(a.pendingTxs)],
      ];
      if (a.org !== undefined) rows.push(['Organisation', a.org]);
      put(summary, details(rows));
    } catch (e) {
      if (!gone) put(summary, note(e instanceof Error ? e.message : String(e), 'error'));
    }
  };

  /** The first page (pending plus the newest blocks), redrawn on every block. */
  const loadActivity = async (): Promise<void> => {
    try {
      const r = await getJson<AccountTxs>(`/api/accounts/${seg(arg)}/txs`);
      if (gone) return;
      const all = [...r.pending, ...r.txs];
      const scanned = r.scanned === null ? '' : `Scanned blocks ${int(r.scanned.from)}–${int(r.scanned.to)}.`;
      put(activity, all.length === 0 ? note(`No transactions. ${scanned}`) : [table(HEADERS, txRows(all, Date.now()), { class: 'account-txs' }), h('p', { class: 'note muted' }, scanned)]);
      // Pages the user asked for stay put; the first button only appears while there are none.
      if (!olderLoaded) put(older, r.next === null ? null : moreButton(r.next));
    } catch (e) {
      if (!gone) put(activity, note(e instanceof Error ? e.message : String(e), 'error'));
    }
  };

  /** A button that scans further back from `before` and appends what it finds. */
  const moreButton = (before: number): HTMLElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'more-button',
        onclick: async (e: Event) => {
          const button = e.currentTarget as HTMLButtonElement;
          button.disabled = true;
          olderLoaded = true;
          try {
            const r = await getJson<AccountTxs>(`/api/accounts/${seg(arg)}/txs?before=${before}`);
            if (gone) return;
            const range = r.scanned === null ? '' : `blocks ${int(r.scanned.from)}–${int(r.scanned.to)}`;
            button.remove();
            older.append(r.txs.length === 0 ? note(`Nothing in ${range}.`) : table(HEADERS, txRows(r.txs, Date.now())), r.next === null ? '' : moreButton(r.next));
          } catch (err) {
            button.disabled = false;
            older.append(note(err instanceof Error ? err.message : String(err), 'error'));
          }
        },
      },
      `Scan older blocks (below ${int(before + 1)})`,
    );

  void loadSummary();
  void loadActivity();
  const refresh = debounce(() => {
    void loadSummary();
    void loadActivity();
  }, 500);
  const offs = ['block', 'tx', 'reorg'].map((t) => app.live.on(t, refresh));
  return () => {
    gone = true;
    refresh.cancel();
    offs.forEach((off) => off());
  };
};
