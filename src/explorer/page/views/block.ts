/** `#/block/HEIGHT_OR_HASH`: a block's header, its transactions, and for BFT its commit certificate and signers. */
import { getJson, seg } from '../api.ts';
import type { App, View } from '../app.ts';
import { accountLink, amount, blockLink, card, details, h, int, mono, note, put, recordLink, si, table, txLink, when, type Child } from '../dom.ts';
import { workOfBits } from '../stats.ts';
import type { Block, JsonValue, Network, Tx } from '../types.ts';

const ZERO = '0'.repeat(64);

/** Sender addresses for the transactions' public keys, in one request. */
export async function senderAddresses(txs: readonly Tx[]): Promise<Map<string, string>> {
  const keys = [...new Set(txs.map((t) => t.from).filter((k): k is string => k !== undefined))];
  if (keys.length === 0) return new Map();
  const r = await getJson<{ addresses: Record<string, string> }>(`/api/addresses?keys=${keys.join(',')}`);
  return new Map(Object.entries(r.addresses));
}

/** What a transaction does, in a few words with links. */
export function txSummary(tx: Tx): Child {
  if (tx.kind === 'transfer') return [amount(tx.amount), ' → ', accountLink(tx.to ?? '', 10)];
  if (tx.kind === 'coinbase') return ['reward ', amount(tx.amount), ' → ', accountLink(tx.to ?? '', 10)];
  if (tx.kind === 'record') return ['set ', recordLink(tx.key ?? '')];
  if (tx.action !== undefined) return `${tx.action.op} ${tx.action.name ?? tx.action.nodeId.slice(0, 8)} (${tx.action.org})`;
  return tx.kind;
}

/** The transactions of a block as a table. */
function txTable(txs: readonly Tx[], senders: Map<string, string>): HTMLElement {
  return table(
    ['~#', 'Id', '~Kind', 'From', 'What', '~Fee'],
    txs.map((t, i) => {
      const from = t.from === undefined ? undefined : senders.get(t.from);
      return [String(i), txLink(t.id, 10), t.kind, from === undefined ? (t.kind === 'coinbase' ? 'new coins' : mono(t.from ?? '', 10)) : accountLink(from, 10), txSummary(t), amount(t.fee)];
    }),
    { class: 'txs-table' },
  );
}

interface Certificate {
  height: number;
  round: number;
  blockHash: string;
  signatures: { validator: string; signature: string }[];
}

function isCertificate(c: JsonValue | undefined): c is JsonValue & Certificate {
  return typeof c === 'object' && c !== null && !Array.isArray(c) && Array.isArray((c as Record<string, unknown>).signatures);
}

/** The commit certificate: who signed, out of which validators. */
function commitCard(commit: JsonValue | undefined, net: Network | undefined): HTMLElement {
  if (!isCertificate(commit)) return card('Commit certificate', h('pre', { class: 'json' }, JSON.stringify(commit, null, 2)));
  const validators = (net?.nodes ?? []).filter((n) => n.roles.includes('validator'));
  const signed = new Set(commit.signatures.map((s) => s.validator));
  const name = (id: string): string => net?.nodes.find((n) => n.id === id)?.name ?? id.slice(0, 10);
  const rows = (validators.length > 0 ? validators.map((v) => v.id) : [...signed]).map((id) => [name(id), signed.has(id) ? h('span', { class: 'vote yes' }, '✓ signed') : h('span', { class: 'vote none' }, 'no signature'), signed.has(id) ? mono(commit.signatures.find((s) => s.validator === id)!.signature, 16) : '']);
  return card(
    'Commit certificate',
    details([
      ['Round', String(commit.round)],
      ['Signatures', validators.length > 0 ? `${signed.size} of ${validators.length} validators` : String(signed.size)],
    ]),
    table(['Validator', 'Precommit', '~Signature'], rows, { class: 'commit-table' }),
  );
}

/** Renders a block. */
export const blockView: View = (root, arg, app: App) => {
  let gone = false;
  root.append(note(`loading block ${arg}…`));
  void (async () => {
    try {
      const b = await getJson<Block>(`/api/blocks/${seg(arg)}`);
      const [senders, net] = await Promise.all([senderAddresses(b.txs), app.network().catch(() => undefined)]);
      if (gone) return;
      const hd = b.header;
      const pow = hd.proposer === ZERO;
      const proposer = pow ? undefined : net?.nodes.find((n) => n.id === hd.proposer);
      const rows: [string, Child][] = [
        ['Hash', h('code', { class: 'mono wrap', id: 'block-hash' }, b.hash)],
        ['Height', [int(b.height), ' ', b.height > 0 ? blockLink(b.height - 1, '‹ prev') : null, ' ', b.mainChain ? blockLink(b.height + 1, 'next ›') : null]],
        ['Status', b.mainChain ? `main chain, ${int(b.confirmations)} confirmation${b.confirmations === 1 ? '' : 's'}` : 'not on the main chain (a side branch)'],
        ['Time', when(b.timestamp)],
        ['Parent', b.height === 0 ? 'genesis document' : blockLink(b.prevHash, h('code', { class: 'mono wrap' }, b.prevHash))],
        ['Transactions', String(b.txs.length)],
        ['Size', `${int(b.size)} bytes`],
        ['Tx root', h('code', { class: 'mono wrap' }, hd.txRoot)],
        ['State root', h('code', { class: 'mono wrap' }, hd.stateRoot)],
      ];
      if (pow) rows.push(['Difficulty', `bits 0x${hd.bits.toString(16).padStart(8, '0')} · ${si(workOfBits(hd.bits))} hashes expected`], ['Nonce', String(hd.nonce)]);
      else rows.push(['Proposer', proposer?.name ?? h('code', { class: 'mono wrap' }, hd.proposer)]);
      // The next-block link only makes sense once there is one.
      const tipHeight = app.status?.height ?? b.height;
      if (b.height >= tipHeight) rows[1] = ['Height', [int(b.height), ' ', b.height > 0 ? blockLink(b.height - 1, '‹ prev') : null]];
      put(
        root,
        card(`Block #${b.height}`, details(rows)),
        b.commit === undefined ? null : commitCard(b.commit, net),
        card('Transactions', b.txs.length === 0 ? note('none') : txTable(b.txs, senders)),
      );
    } catch (e) {
      if (!gone) put(root, card(`Block ${arg}`, note(e instanceof Error ? e.message : String(e), 'error')));
    }
  })();
  return () => void (gone = true);
};
