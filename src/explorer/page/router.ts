/** Hash routes: `#/`, `#/block/H`, `#/tx/ID`, `#/account/ADDR`, `#/record/KEY`, `#/network`, `#/search/Q`... */

/** A parsed route: the view's name and its one argument (decoded). */
export interface Route {
  name: string;
  arg: string;
}

/** The route in the address bar. */
export function currentRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const slash = raw.indexOf('/');
  const name = slash < 0 ? raw : raw.slice(0, slash);
  let arg = slash < 0 ? '' : raw.slice(slash + 1);
  try {
    arg = decodeURIComponent(arg);
  } catch {
    // A hand-typed '%' that is not an escape: keep the text as it is.
  }
  return { name: name === '' ? 'overview' : name, arg };
}

/** The href of a route. */
export function href(name: string, arg?: string | number): string {
  return arg === undefined ? `#/${name}` : `#/${name}/${encodeURIComponent(String(arg))}`;
}

/** Goes to a route; `replace` keeps the current entry out of the history (used by redirects). */
export function go(name: string, arg?: string | number, replace = false): void {
  const target = href(name, arg);
  if (replace) location.replace(target);
  else location.hash = target;
}
