/** Bans by node id, by host and by address, with expiry, persisted so they survive restarts. */
import { z } from 'zod';
import { parseAddress } from './address.ts';
import { loadSaved, SaveQueue, type Persistence } from './persistence.ts';

/** What a ban applies to. */
export type BanKind = 'node' | 'host' | 'address';

/** One ban. `until` is wall-clock time in ms since the epoch, so it means the same after a restart. */
export interface Ban {
  readonly kind: BanKind;
  readonly value: string;
  readonly until: number;
  readonly reason: string;
}

/** Most bans kept; the ones expiring first are dropped beyond it (a flood of identities cannot grow memory). */
export const MAX_BANS = 10_000;

const stored = z.object({
  version: z.literal(1),
  bans: z.array(z.object({ kind: z.enum(['node', 'host', 'address']), value: z.string().max(300), until: z.number(), reason: z.string().max(512) })).max(MAX_BANS),
});

/** The ban list of one node. */
export class BanList {
  private readonly bans = new Map<string, Ban>();
  private readonly saver: SaveQueue;

  constructor(
    private readonly persistence: Persistence | undefined,
    private readonly now: () => number,
    onError: (err: unknown) => void = () => {},
  ) {
    this.saver = new SaveQueue(persistence, () => ({ version: 1, bans: this.list() }), onError);
  }

  /** Loads saved bans; a malformed saved value is ignored (returns false) rather than failing start-up. */
  async load(): Promise<boolean> {
    const saved = await loadSaved(this.persistence, stored);
    if (saved.kind !== 'ok') return saved.kind === 'none';
    for (const b of saved.value.bans) if (b.until > this.now()) this.bans.set(key(b.kind, b.value), b);
    return true;
  }

  /** Bans one target for durationMs (extending, never shortening, an existing ban) and schedules a save. */
  add(kind: BanKind, value: string, durationMs: number, reason: string): void {
    const k = key(kind, value);
    const until = this.now() + durationMs;
    const old = this.bans.get(k);
    if (old !== undefined && old.until >= until) return;
    this.bans.delete(k);
    this.bans.set(k, { kind, value, until, reason: reason.slice(0, 512) });
    this.trim();
    this.saver.request();
  }

  /** Lifts a ban; returns true if there was one. */
  remove(kind: BanKind, value: string): boolean {
    const had = this.bans.delete(key(kind, value));
    if (had) this.saver.request();
    return had;
  }

  /** The live ban on a target, if any. */
  get(kind: BanKind, value: string): Ban | undefined {
    const k = key(kind, value);
    const b = this.bans.get(k);
    if (b === undefined) return undefined;
    if (b.until <= this.now()) {
      this.bans.delete(k);
      this.saver.request();
      return undefined;
    }
    return b;
  }

  /** True if an address may not be dialled or shared: the address itself or its host is banned. */
  addressBanned(address: string): boolean {
    if (this.get('address', address) !== undefined) return true;
    const a = parseAddress(address);
    return a !== undefined && this.get('host', a.host) !== undefined;
  }

  /** Live bans. */
  list(): Ban[] {
    const now = this.now();
    return [...this.bans.values()].filter((b) => b.until > now);
  }

  /** Resolves once pending saves have been written. */
  flush(): Promise<void> {
    return this.saver.flush();
  }

  private trim(): void {
    if (this.bans.size <= MAX_BANS) return;
    const sorted = [...this.bans.entries()].sort((a, b) => a[1].until - b[1].until);
    for (const [k] of sorted.slice(0, this.bans.size - MAX_BANS)) this.bans.delete(k);
  }
}

function key(kind: BanKind, value: string): string {
  return `${kind}:${value}`;
}
