/**
 * The recent main chain as the page knows it: the last HISTORY block
 * summaries (for the latest-blocks list and the charts) and the
 * reorganisations and invalid blocks seen since the page opened. Block events
 * fetch only the new blocks; a reorganisation or a gap reloads the window.
 */
import { getJson } from './api.ts';
import type { Live } from './live.ts';
import type { BlockEvent, BlockList, BlockSummary, ReorgEvent } from './types.ts';

const HISTORY = 100;
const MAX_LOG = 50;

/** A reorganisation as it happened. */
export interface ReorgEntry {
  time: number;
  fork: string;
  disconnected: string[];
  connected: string[];
}

/** A block the node refused. */
export interface InvalidEntry {
  time: number;
  hash: string;
  code: string;
  message: string;
}

/** Recent blocks and chain events, kept fresh from the event stream. */
export class ChainData {
  /** Main-chain block summaries, oldest first. */
  blocks: BlockSummary[] = [];
  readonly reorgs: ReorgEntry[] = [];
  readonly invalid: InvalidEntry[] = [];
  /** Heights of blocks that arrived while the page was open (for highlighting). */
  readonly arrived = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private wantHeight = -1;
  private fullReload = true;
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(live: Live) {
    live.on('block', (d) => {
      const b = d as BlockEvent;
      this.wantHeight = Math.max(this.wantHeight, b.height);
      this.arrived.add(b.hash);
      void this.refresh();
    });
    live.on('reorg', (d) => {
      const r = d as ReorgEvent;
      this.reorgs.unshift({ time: Date.now(), fork: r.fork, disconnected: r.disconnected, connected: r.connected });
      this.reorgs.length = Math.min(this.reorgs.length, MAX_LOG);
      this.fullReload = true;
      void this.refresh();
    });
    live.on('invalidBlock', (d) => {
      const x = d as { hash: string; code: string; message: string };
      this.invalid.unshift({ time: Date.now(), hash: x.hash, code: x.code, message: x.message });
      this.invalid.length = Math.min(this.invalid.length, MAX_LOG);
      this.changed();
    });
    live.on('resync', () => {
      this.fullReload = true;
      void this.refresh();
    });
  }

  /** The newest block summary, if any is loaded. */
  get tip(): BlockSummary | undefined {
    return this.blocks[this.blocks.length - 1];
  }

  /** Calls fn after every change; returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Brings the window up to date; concurrent calls share one request and queue one more. */
  refresh(): Promise<void> {
    if (this.loading !== undefined) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load()
      .catch((e: unknown) => console.warn('explorer: loading blocks failed', e))
      .finally(() => {
        this.loading = undefined;
        if (this.again) {
          this.again = false;
          void this.refresh();
        }
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    const last = this.tip;
    const gap = last === undefined ? Infinity : this.wantHeight - last.height;
    if (this.fullReload || last === undefined || gap > HISTORY - 1) {
      this.fullReload = false;
      const list = await getJson<BlockList>(`/api/blocks?limit=${HISTORY}`);
      this.blocks = list.blocks.slice().reverse();
      this.changed();
      return;
    }
    if (gap <= 0) return;
    // Ask for the new blocks plus the last one we hold, to check they still join up.
    const list = await getJson<BlockList>(`/api/blocks?limit=${gap + 1}`);
    const fresh = list.blocks.slice().reverse();
    const joint = fresh[0];
    if (joint === undefined || joint.height !== last.height || joint.hash !== last.hash) {
      this.fullReload = true;
      return this.load();
    }
    this.blocks = [...this.blocks, ...fresh.slice(1)].slice(-HISTORY);
    this.changed();
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
