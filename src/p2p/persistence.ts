/** Where p2p keeps state across restarts (bans, the address book): injected, so the node can use its store. */

/** A single JSON-compatible value slot. load() resolves undefined when nothing was saved yet. */
export interface Persistence {
  load(): Promise<unknown>;
  save(value: unknown): Promise<void>;
}

/** A Persistence kept in memory (tests; or a node that does not want state to survive restarts). */
export function memoryPersistence(initial?: unknown): Persistence & { value: unknown; saves: number } {
  const p = {
    // Stored as JSON text so callers cannot share mutable objects with the slot.
    value: initial === undefined ? undefined : (JSON.parse(JSON.stringify(initial)) as unknown),
    saves: 0,
    load: () => Promise.resolve(p.value === undefined ? undefined : (JSON.parse(JSON.stringify(p.value)) as unknown)),
    save: (v: unknown) => {
      p.value = JSON.parse(JSON.stringify(v)) as unknown;
      p.saves++;
      return Promise.resolve();
    },
  };
  return p;
}

/**
 * Coalesces saves: at most one write in flight, and the latest snapshot is
 * written after it. Failures are reported, never thrown at the caller.
 */
export class SaveQueue {
  private running = false;
  private dirty = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly target: Persistence | undefined,
    private readonly snapshot: () => unknown,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Schedules a save of the current snapshot. */
  request(): void {
    if (this.target === undefined) return;
    this.dirty = true;
    if (!this.running) void this.loop();
  }

  /** Resolves once every requested save has been attempted. */
  flush(): Promise<void> {
    if (!this.running && !this.dirty) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.dirty && this.target !== undefined) {
      this.dirty = false;
      try {
        await this.target.save(this.snapshot());
      } catch (err) {
        this.onError(err);
      }
    }
    this.running = false;
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }
}

/**
 * Reads a saved value and checks it against a schema: 'none' when nothing was
 * saved (a first start), 'malformed' when the value does not fit, else the value.
 */
export async function loadSaved<T>(p: Persistence | undefined, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): Promise<{ kind: 'none' } | { kind: 'malformed' } | { kind: 'ok'; value: T }> {
  if (p === undefined) return { kind: 'none' };
  const saved = await p.load();
  if (saved === undefined || saved === null) return { kind: 'none' };
  const parsed = schema.safeParse(saved);
  return parsed.success ? { kind: 'ok', value: parsed.data } : { kind: 'malformed' };
}
