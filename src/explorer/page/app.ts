/**
 * What every view receives: the event stream, the recent chain, the node's
 * status and a short-lived cache of the network view, all shared so that
 * switching views does not reload them.
 */
import { getJson } from './api.ts';
import { ChainData } from './chain-data.ts';
import { Live } from './live.ts';
import type { Network, Status } from './types.ts';

/** Called when a view is left: unsubscribe, stop timers. */
export type Dispose = () => void;

/** A view renders into root for its route argument and returns its cleanup. */
export type View = (root: HTMLElement, arg: string, app: App) => Dispose | void;

const NETWORK_TTL_MS = 2000;

/** Shared state of the page. */
export class App {
  readonly live = new Live();
  readonly chain = new ChainData(this.live);
  status: Status | undefined;
  private readonly statusListeners = new Set<(s: Status) => void>();
  private net: { at: number; value: Promise<Network> } | undefined;

  /** Loads the status now and keeps it fresh. */
  async refreshStatus(): Promise<Status> {
    const s = await getJson<Status>('/api/status');
    this.status = s;
    for (const fn of this.statusListeners) fn(s);
    return s;
  }

  /** Calls fn on every new status; returns the unsubscribe. */
  onStatus(fn: (s: Status) => void): () => void {
    this.statusListeners.add(fn);
    if (this.status !== undefined) fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  /** The network view, fetched at most every two seconds however many views ask. */
  network(): Promise<Network> {
    const now = Date.now();
    if (this.net === undefined || now - this.net.at > NETWORK_TTL_MS) {
      const value = getJson<Network>('/api/network');
      this.net = { at: now, value };
      // A failed fetch must not be served from the cache.
      value.catch(() => {
        if (this.net?.value === value) this.net = undefined;
      });
    }
    return this.net.value;
  }

  /** True on a Proof-of-Work network (false until the status is known). */
  get pow(): boolean {
    return this.status?.consensus === 'pow';
  }
}

/** Calls fn now and every `ms` until the returned dispose is called. */
export function every(ms: number, fn: () => void): Dispose {
  fn();
  const t = window.setInterval(fn, ms);
  return () => window.clearInterval(t);
}
