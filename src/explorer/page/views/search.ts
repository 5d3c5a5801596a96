/** `#/search/Q`: what a search string names; goes straight there when it names exactly one thing. */
import { getJson, seg } from '../api.ts';
import type { View } from '../app.ts';
import { card, h, mono, note, put } from '../dom.ts';
import { go, href } from '../router.ts';
import type { SearchResult } from '../types.ts';

/** Renders search results (or redirects to the single match). */
export const searchView: View = (root, arg) => {
  let gone = false;
  const q = arg.trim();
  if (q === '') {
    root.append(card('Search', note('Type a block height, block hash, transaction id, address or record key in the search box.')));
    return;
  }
  root.append(note(`searching for ${q}…`));
  void (async () => {
    try {
      const r = await getJson<SearchResult>(`/api/search?q=${seg(q)}`);
      if (gone) return;
      const only = r.matches.length === 1 ? r.matches[0] : undefined;
      // Replace, so Back returns to where the search started rather than to this redirect.
      if (only !== undefined) return go(only.kind, only.id, true);
      put(
        root,
        card(
          ['Search: ', mono(q, 40)],
          r.matches.length === 0
            ? note('Nothing on this node matches: not a height on the main chain, a known block hash or transaction id, a valid address, nor a record key that was written.')
            : h('ul', { class: 'matches' }, r.matches.map((m) => h('li', null, h('a', { href: href(m.kind, m.id) }, `${m.label}: `, mono(m.id, 24))))),
        ),
      );
    } catch (e) {
      if (!gone) put(root, card('Search', note(e instanceof Error ? e.message : String(e), 'error')));
    }
  })();
  return () => void (gone = true);
};
