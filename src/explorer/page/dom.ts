/**
 * Small DOM helpers: build elements from code (never from HTML strings, so
 * nothing the API returns can become markup), format numbers and times, and
 * the links every view shares.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | undefined | null | ((e: Event) => void);
export type Attrs = Record<string, AttrValue>;

function applyAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (attrs == null) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** An HTML element with attributes (`onclick` etc. become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes and children. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function put(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A titled panel. */
export function card(title: Child, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

/** A line saying something is loading, failed, or is empty. */
export function note(text: string, kind: 'muted' | 'error' = 'muted'): HTMLElement {
  return h('p', { class: `note ${kind}` }, text);
}

/** Label/value rows for a detail page. */
export function details(rows: [string, Child][]): HTMLElement {
  return h('dl', { class: 'details' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** A table that scrolls sideways on its own when the screen is narrow. Headers starting with '~' hide on phones. */
export function table(headers: string[], rows: Child[][], attrs?: Attrs): HTMLElement {
  const narrow = headers.map((x) => x.startsWith('~'));
  const cls = (i: number): string | undefined => (narrow[i] === true ? 'wide-only' : undefined);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs ?? null,
      h('thead', null, h('tr', null, headers.map((x, i) => h('th', { class: cls(i) }, x.replace(/^~/, ''))))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => h('td', { class: cls(i) }, c))))),
    ),
  );
}

/** A hash or key in monospace, shortened on screen, whole in its tooltip. */
export function mono(value: string, keep = 12): HTMLElement {
  const shown = value.length > keep + 2 ? `${value.slice(0, keep)}…` : value;
  return h('code', { class: 'mono', title: value }, shown);
}

/** A link to a block by height or hash. */
export function blockLink(id: string | number, label?: Child): HTMLElement {
  return h('a', { href: `#/block/${encodeURIComponent(String(id))}` }, label ?? (typeof id === 'number' ? `#${id}` : mono(id)));
}

/** A link to a transaction. */
export function txLink(id: string, keep = 12): HTMLElement {
  return h('a', { href: `#/tx/${encodeURIComponent(id)}` }, mono(id, keep));
}

/** A link to an account. */
export function accountLink(address: string, keep = 14): HTMLElement {
  return h('a', { href: `#/account/${encodeURIComponent(address)}` }, mono(address, keep));
}

/** A link to a record. */
export function recordLink(key: string): HTMLElement {
  return h('a', { href: `#/record/${encodeURIComponent(key)}` }, h('code', { class: 'mono' }, key));
}

/** An integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A decimal amount string (a bigint on the wire) with thousands separators. */
export function amount(a: string | undefined): string {
  if (a === undefined) return '';
  return a.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A number with an SI prefix: 1234567 -> "1.23 M". */
export function si(n: number, unit = ''): string {
  if (!Number.isFinite(n)) return '–';
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const text = v >= 100 || (i === 0 && Number.isInteger(v)) ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  const suffix = `${prefixes[i] ?? ''}${unit}`;
  return `${n < 0 ? '-' : ''}${text}${suffix === '' ? '' : ` ${suffix}`}`;
}

/** A duration in ms as "850 ms", "4.2 s" or "3 min". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (Math.abs(ms) < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** How long ago a timestamp was, e.g. "12 s ago". */
export function ago(t: number, now = Date.now()): string {
  const d = Math.max(0, now - t);
  if (d < 1000) return 'just now';
  if (d < 60_000) return `${Math.floor(d / 1000)} s ago`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)} min ago`;
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)} h ago`;
  return `${Math.floor(d / 86_400_000)} d ago`;
}

/** A timestamp as local date and time. */
export function when(t: number): string {
  return new Date(t).toLocaleString('en-GB', { hour12: false });
}

/** A JSON value pretty-printed in a block. */
export function jsonBlock(v: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(v, null, 2));
}

/** Runs fn at most once per `ms`, trailing call included: many events, one refresh. */
export function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: number | undefined;
  const run = (): void => {
    if (timer !== undefined) return;
    timer = window.setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  run.cancel = (): void => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
  };
  return run;
}
