/** `#/tx/ID`: a transaction: pending or confirmed (where), who sent it, what it does. Follows it live while pending. */
import { getJson, seg } from '../api.ts';
import type { View } from '../app.ts';
import { accountLink, amount, blockLink, card, details, h, int, jsonBlock, mono, note, put, recordLink, when, type Child } from '../dom.ts';
import type { TxStatus } from '../types.ts';
import { senderAddresses } from './block.ts';

/** Renders a transaction. */
export const txView: View = (root, arg, app) => {
  let gone = false;
  root.append(note(`loading transaction ${arg}…`));
  const load = async (): Promise<void> => {
    try {
      const t = await getJson<TxStatus>(`/api/txs/${seg(arg)}`);
      const senders = await senderAddresses([t.tx]);
      if (gone) return;
      const tx = t.tx;
      const from = tx.from === undefined ? undefined : senders.get(tx.from);
      const rows: [string, Child][] = [
        ['Id', h('code', { class: 'mono wrap', id: 'tx-id' }, t.id)],
        ['Status', t.status === 'pending' ? h('span', { class: 'status pending' }, 'pending in the mempool') : h('span', { class: 'status confirmed' }, `confirmed, ${int(t.confirmations)} confirmation${t.confirmations === 1 ? '' : 's'}`)],
      ];
      if (t.status === 'confirmed') rows.push(['Block', [blockLink(t.height), ' ', blockLink(t.blockHash, mono(t.blockHash, 16)), ` · position ${t.index}`]]);
      else rows.push(['Seen', when(t.addedAt)]);
      rows.push(['Kind', tx.kind]);
      if (tx.kind === 'coinbase') rows.push(['From', 'new coins (block reward and fees)']);
      else rows.push(['From', from === undefined ? mono(tx.from ?? '') : accountLink(from, 40)], ['Sender key', h('code', { class: 'mono wrap' }, tx.from ?? '')], ['Nonce', String(tx.nonce)], ['Fee', amount(tx.fee)]);
      if (tx.to !== undefined) rows.push(['To', accountLink(tx.to, 40)], ['Amount', amount(tx.amount)]);
      if (tx.kind === 'record') rows.push(['Record', recordLink(tx.key ?? '')], ['Value', jsonBlock(tx.value)]);
      if (tx.action !== undefined) rows.push(['Governance action', jsonBlock(tx.action)]);
      rows.push(['Size', `${int(tx.size)} bytes`], ['Chain', tx.chainId]);
      if (tx.sig !== undefined) rows.push(['Signature', h('code', { class: 'mono wrap' }, tx.sig)]);
      put(root, card('Transaction', details(rows)));
    } catch (e) {
      if (!gone) put(root, card('Transaction', note(e instanceof Error ? e.message : String(e), 'error')));
    }
  };
  void load();
  // A pending transaction may be mined any moment; a confirmed one gains confirmations.
  const off = app.live.on('block', () => void load());
  return () => {
    gone = true;
    off();
  };
};
