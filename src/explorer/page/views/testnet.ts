/**
 * `#/testnet`: the fault controls of a network run by `peerchain testnet`.
 * When this node's /api/network names the launcher's control URL, the page
 * calls it directly (CORS, loopback only): stop and restart a node, cut the
 * links between two groups of nodes and heal them, slow a node's links. Then
 * watch the effect in the other views: a fork and a reorganisation, or a
 * stalled BFT round and its recovery.
 */
import { ApiFailure } from '../api.ts';
import { every, type App, type View } from '../app.ts';
import { card, h, int, note, put, table } from '../dom.ts';

/** One node as GET /control shows it. */
interface ControlNode {
  name: string;
  roles: string[];
  org?: string;
  nodeId?: string;
  apiUrl: string;
  state: 'up' | 'starting' | 'down';
  height?: number;
  peers?: number;
  faults: { blocked: string[]; delayMs: number };
}

/** GET /control. */
interface ControlView {
  network: string;
  nodes: ControlNode[];
  groups: string[][] | null;
  maxDelayMs: number;
}

const REFRESH_MS = 2000;
// Restarting a node waits for its API; that can take a while on a busy machine.
const ACTION_TIMEOUT_MS = 90_000;

/** The launcher's control URL, if this node runs under `peerchain testnet`. */
async function controlUrl(app: App): Promise<string | undefined> {
  return (await app.network()).testnet?.control;
}

/** Calls the control server; throws ApiFailure with its message on an error answer. */
async function call(base: string, path: string, body?: unknown): Promise<ControlView> {
  let r: Response;
  try {
    r = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(body === undefined ? 10_000 : ACTION_TIMEOUT_MS),
    });
  } catch (e) {
    throw new ApiFailure(0, 'UNREACHABLE', `the testnet controls at ${base} did not answer: ${e instanceof Error ? e.message : String(e)}`);
  }
  const data = (await r.json().catch(() => undefined)) as (ControlView & { error?: { code: string; message: string } }) | undefined;
  if (!r.ok || data === undefined) throw new ApiFailure(r.status, data?.error?.code ?? `HTTP_${r.status}`, data?.error?.message ?? `${path} answered ${r.status}`);
  return data;
}

/** Shows the nav tab only when this node reports testnet controls. */
export function revealTestnetTab(app: App, nav: HTMLElement): void {
  const tab = nav.querySelector<HTMLElement>('a[data-route="testnet"]');
  if (tab === null) return;
  tab.hidden = true;
  controlUrl(app).then(
    (url) => (tab.hidden = url === undefined),
    () => undefined,
  );
}

function faultsText(n: ControlNode): string {
  const parts: string[] = [];
  if (n.faults.blocked.length > 0) parts.push(`cut off from ${n.faults.blocked.join(', ')}`);
  if (n.faults.delayMs > 0) parts.push(`+${n.faults.delayMs} ms`);
  return parts.join('; ');
}

/** Renders the controls. */
export const testnetView: View = (root, _arg, app) => {
  const body = h('div', { class: 'controls' }, note('loading…'));
  root.append(card('Testnet controls', body));
  let gone = false;
  let busy = false;
  let stop = (): void => {};

  void controlUrl(app).then(
    (base) => {
      if (gone) return;
      if (base === undefined) {
        put(body, note('This node does not run under peerchain testnet, so there are no controls to show.'));
        return;
      }
      stop = start(base);
    },
    (e: unknown) => {
      if (!gone) put(body, note(`cannot load /api/network: ${e instanceof Error ? e.message : String(e)}`, 'error'));
    },
  );

  function start(base: string): () => void {
    const msg = h('p', { id: 'control-msg', class: 'note muted', role: 'status' }, `Controls at ${base}/control`);
    const nodesBox = h('div', null, note('loading…'));
    const tools = h('div', { class: 'control-tools' });
    put(body, nodesBox, tools, msg);
    const groupOf = new Map<string, 'A' | 'B'>();
    let toolsFor = '';
    let last: ControlView | undefined;

    const say = (text: string, kind: 'muted' | 'error' = 'muted'): void => {
      msg.textContent = text;
      msg.className = `note ${kind}`;
    };

    const act = async (label: string, path: string, payload: unknown = {}): Promise<void> => {
      if (busy) return;
      busy = true;
      for (const b of root.querySelectorAll<HTMLButtonElement>('.controls button')) b.disabled = true;
      say(`${label}…`);
      let result: ControlView | undefined;
      try {
        result = await call(base, path, payload);
        if (!gone) say(`${label}: done`);
      } catch (e) {
        if (!gone) say(`${label}: ${e instanceof Error ? e.message : String(e)}`, 'error');
      } finally {
        busy = false;
      }
      // Redrawn either way, so every button is enabled again as the nodes' states allow.
      const v = result ?? last;
      if (!gone && v !== undefined) render(v);
      for (const b of tools.querySelectorAll<HTMLButtonElement>('button')) b.disabled = false;
    };

    const nodeTable = (v: ControlView): HTMLElement =>
      table(
        ['Node', '~Roles', 'State', 'Height', 'Peers', 'Faults', ''],
        v.nodes.map((n) => [
          h('strong', null, n.name),
          [n.roles.join(', '), n.org === undefined ? '' : ` (${n.org})`],
          h('span', { class: `node-state state-${n.state}` }, n.state),
          n.height === undefined ? '' : int(n.height),
          n.peers === undefined ? '' : String(n.peers),
          faultsText(n),
          h(
            'span',
            { class: 'control-buttons' },
            h('button', { type: 'button', class: 'small stop', disabled: busy || n.state === 'down', onclick: () => void act(`stop ${n.name}`, `/control/nodes/${encodeURIComponent(n.name)}/stop`) }, 'Stop'),
            h('button', { type: 'button', class: 'small restart', disabled: busy, onclick: () => void act(`restart ${n.name}`, `/control/nodes/${encodeURIComponent(n.name)}/restart`) }, n.state === 'down' ? 'Start' : 'Restart'),
          ),
        ]),
        { class: 'control-table' },
      );

    // The partition builder and the slow form are built once per set of nodes, so a refresh never resets what a person picked.
    const buildTools = (v: ControlView): void => {
      const names = v.nodes.map((n) => n.name);
      names.forEach((name, i) => {
        if (!groupOf.has(name)) groupOf.set(name, i < Math.ceil(names.length / 2) ? 'A' : 'B');
      });
      const picker = (name: string): HTMLElement =>
        h(
          'label',
          { class: 'group-pick' },
          `${name} `,
          h(
            'select',
            { 'data-node': name, 'aria-label': `group of ${name}`, onchange: (e: Event) => groupOf.set(name, (e.target as HTMLSelectElement).value === 'B' ? 'B' : 'A') },
            (['A', 'B'] as const).map((g) => h('option', { value: g, selected: groupOf.get(name) === g }, `group ${g}`)),
          ),
        );
      const partition = (): void => {
        const a = names.filter((n) => groupOf.get(n) !== 'B');
        const b = names.filter((n) => groupOf.get(n) === 'B');
        if (a.length === 0 || b.length === 0) return say('put at least one node in each group', 'error');
        void act(`partition ${a.join(', ')} | ${b.join(', ')}`, '/control/partition', { groups: [a, b] });
      };
      const delay = h('input', { type: 'number', min: 0, max: v.maxDelayMs, step: 50, value: 200, class: 'delay-input', 'aria-label': 'delay in ms' });
      const who = h('select', { class: 'slow-node', 'aria-label': 'node to slow' }, names.map((n) => h('option', { value: n }, n)));
      const slow = (): void => {
        const ms = Number(delay.value);
        if (!Number.isInteger(ms) || ms < 0 || ms > v.maxDelayMs) return say(`the delay is an integer from 0 to ${v.maxDelayMs} ms`, 'error');
        void act(`slow ${who.value} by ${ms} ms`, '/control/slow', { node: who.value, delayMs: ms });
      };
      put(
        tools,
        h('h3', null, 'Partition'),
        h('p', { class: 'note muted' }, 'Cut every link between group A and group B; each side goes on alone until healed.'),
        h('div', { class: 'group-picks' }, names.map(picker)),
        h('div', { class: 'control-row' }, h('button', { type: 'button', class: 'partition', onclick: partition }, 'Partition A | B'), h('button', { type: 'button', class: 'heal', onclick: () => void act('heal', '/control/heal') }, 'Heal')),
        h('h3', null, 'Slow a node'),
        h('p', { class: 'note muted' }, 'Everything the node sends waits this long first (0 removes the delay; Heal removes it too).'),
        h('div', { class: 'control-row' }, who, delay, h('span', null, 'ms'), h('button', { type: 'button', class: 'slow', onclick: slow }, 'Slow')),
      );
    };

    function render(v: ControlView): void {
      last = v;
      const key = v.nodes.map((n) => n.name).join(',');
      if (key !== toolsFor) {
        toolsFor = key;
        buildTools(v);
      }
      put(
        nodesBox,
        h('p', { class: 'note muted' }, `${v.network} network · ${v.nodes.filter((n) => n.state === 'up').length} of ${v.nodes.length} nodes up`, v.groups === null ? '' : ` · partitioned: ${v.groups.map((g) => g.join(', ')).join(' | ')}`),
        nodeTable(v),
      );
    }

    const refresh = (): void => {
      if (busy) return;
      call(base, '/control').then(
        (v) => {
          if (!gone && !busy) render(v);
        },
        (e: unknown) => {
          if (!gone && last === undefined) put(nodesBox, note(e instanceof Error ? e.message : String(e), 'error'));
          else if (!gone) say(e instanceof Error ? e.message : String(e), 'error');
        },
      );
    };
    return every(REFRESH_MS, refresh);
  }

  return () => {
    gone = true;
    stop();
  };
};
