/** `#/record/KEY`: a record's current value and its whole history as a timeline, newest first. */
import { getJson, seg } from '../api.ts';
import type { View } from '../app.ts';
import { accountLink, blockLink, card, debounce, details, h, int, jsonBlock, mono, note, put, txLink } from '../dom.ts';
import type { RecordView } from '../types.ts';

const PAGE = 100;

type Entry = RecordView['history']['entries'][number];

/** One write on the timeline. */
function timelineItem(e: Entry, index: number): HTMLElement {
  return h(
    'li',
    { class: 'timeline-item' },
    h('div', { class: 'timeline-head' }, h('strong', null, `#${index + 1}`), ' at block ', blockLink(e.height), ' · tx ', txLink(e.txId, 10), ' · by ', accountLink(e.from, 12)),
    jsonBlock(e.value),
  );
}

/** Renders a record. */
export const recordView: View = (root, arg, app) => {
  let gone = false;
  let shown: string | undefined;
  root.append(note(`loading record ${arg}…`));
  const load = async (): Promise<void> => {
    try {
      // The history is read oldest first in pages; a record rarely has more than a few pages.
      const first = await getJson<RecordView>(`/api/records/${seg(arg)}?limit=${PAGE}`);
      // Redraw only when the record changed, so a new block does not jump the page.
      if (first.txId === shown) return;
      const entries = [...first.history.entries];
      let next = first.history.next;
      while (next !== null && entries.length < 10 * PAGE) {
        const page = await getJson<RecordView>(`/api/records/${seg(arg)}?from=${next}&limit=${PAGE}`);
        entries.push(...page.history.entries);
        next = page.history.next;
      }
      if (gone) return;
      const r = first;
      shown = r.txId;
      put(
        root,
        card(
          ['Record ', h('code', { class: 'mono wrap', id: 'record-key' }, r.key)],
          details([
            ['Current value', jsonBlock(r.value)],
            ['Owner', accountLink(r.owner, 40)],
            ['Updates', int(r.updates)],
            ['Last written', [blockLink(r.height), ' · tx ', txLink(r.txId, 12)]],
            ['History hash', h('code', { class: 'mono wrap', title: 'a hash chain over every entry: tampering with the past changes it' }, r.historyHash)],
          ]),
        ),
        card(
          'History',
          h('ol', { class: 'timeline', reversed: true }, entries.map((e, i) => timelineItem(e, i)).reverse()),
          next === null ? null : note(`Showing the first ${int(entries.length)} of ${int(r.updates)} writes.`),
        ),
      );
    } catch (e) {
      if (!gone) put(root, card(['Record ', mono(arg, 40)], note(e instanceof Error ? e.message : String(e), 'error')));
    }
  };
  void load();
  const refresh = debounce(() => void load(), 500);
  const off = app.live.on('block', refresh);
  return () => {
    gone = true;
    refresh.cancel();
    off();
  };
};
