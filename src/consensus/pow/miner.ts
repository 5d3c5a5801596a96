import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeBits, encodeHeader, type BlockHeader } from '../../core/index.ts';
import type { WorkerCommand, WorkerReport } from './hash-worker.ts';
import { searchNonce, targetBytes } from './search.ts';

/** Events a miner emits. */
export interface MinerEvents {
  /** A header whose hash meets its target. */
  found: [header: BlockHeader];
}

/**
 * The worker program: the bundle `npm install` builds (dist/cli/hash-worker.js,
 * plain node, fast to start) when it is at least as new as its sources, else
 * the TypeScript source through tsx. Found from the package root, so the miner
 * works from the sources and from the bundle in dist/.
 */
function workerEntry(): { path: string; execArgv: string[] } {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const src = join(dir, 'src', 'consensus', 'pow');
  const bundle = join(dir, 'dist', 'cli', 'hash-worker.js');
  try {
    const newest = Math.max(...['hash-worker.ts', 'search.ts'].map((f) => statSync(join(src, f)).mtimeMs));
    if (statSync(bundle).mtimeMs >= newest) return { path: bundle, execArgv: [] };
  } catch {
    // No bundle (or no sources beside it): fall through to the sources.
  }
  return { path: join(src, 'hash-worker.ts'), execArgv: ['--import', 'tsx'] };
}
const WORKER = workerEntry();

/**
 * Searches nonces for a header template on `threads` processes (0 = in this
 * process, in slices between event-loop turns). A new template replaces the
 * current job at once: call setTemplate on a new tip or new transactions.
 */
export class Miner extends EventEmitter<MinerEvents> {
  private readonly workers: ChildProcess[] = [];
  private jobId = 0;
  private template: BlockHeader | undefined;
  private hashes = 0;
  private rateWindow: { t: number; hashes: number }[] = [];
  private inlineTimer: NodeJS.Immediate | undefined;
  private inlineNext = 0;
  private stopped = false;

  constructor(private readonly threads: number, private readonly now: () => number = Date.now) {
    super();
  }

  /**
   * Starts the worker processes (a no-op for threads = 0, or when they run).
   * setTemplate starts them too: a node that mines only on request has no
   * worker processes until the first request.
   */
  start(): void {
    if (this.stopped || this.workers.length > 0) return;
    for (let i = 0; i < this.threads; i++) {
      const w = fork(WORKER.path, [], { execArgv: WORKER.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
      w.on('message', (m: WorkerReport) => this.onReport(m));
      w.on('error', () => undefined);
      this.workers.push(w);
    }
  }

  /** Mines this header template (its nonce is ignored) until a solution or the next template. */
  setTemplate(header: BlockHeader): void {
    this.template = header;
    this.jobId++;
    const target = decodeBits(header.bits);
    if (target === undefined) throw new Error('miner: template bits do not encode a target');
    const tb = targetBytes(target).toString('hex');
    const bytes = encodeHeader({ ...header, nonce: 0 }).toString('hex');
    this.start();
    if (this.threads === 0) {
      this.inlineNext = 0;
      this.scheduleInline(Buffer.from(bytes, 'hex'), Buffer.from(tb, 'hex'), this.jobId);
      return;
    }
    this.workers.forEach((w, i) => this.sendTo(w, { type: 'job', jobId: this.jobId, header: bytes, target: tb, first: i, step: this.workers.length }));
  }

  /** Stops searching (the processes stay up for the next template). */
  pause(): void {
    // Already idle: the workers need not hear it again (every new tip pauses an idle miner).
    if (this.template === undefined) return;
    this.template = undefined;
    this.jobId++;
    if (this.inlineTimer !== undefined) clearImmediate(this.inlineTimer);
    for (const w of this.workers) this.sendTo(w, { type: 'stop' });
  }

  /** Stops and ends every worker process. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause();
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            const t = setTimeout(() => w.kill('SIGKILL'), 2000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.kill('SIGTERM');
          }),
      ),
    );
    this.workers.length = 0;
  }

  /** Hashes per second over the last few seconds. */
  hashRate(): number {
    const cutoff = this.now() - 5000;
    this.rateWindow = this.rateWindow.filter((s) => s.t >= cutoff);
    if (this.rateWindow.length < 2) return 0;
    const first = this.rateWindow[0]!;
    const last = this.rateWindow[this.rateWindow.length - 1]!;
    const dt = last.t - first.t;
    return dt > 0 ? ((last.hashes - first.hashes) * 1000) / dt : 0;
  }

  /** Total hashes tried since start. */
  get totalHashes(): number {
    return this.hashes;
  }

  private count(n: number): void {
    this.hashes += n;
    this.rateWindow.push({ t: this.now(), hashes: this.hashes });
    if (this.rateWindow.length > 512) this.rateWindow.splice(0, 256);
  }

  private sendTo(w: ChildProcess, c: WorkerCommand): void {
    if (w.connected) w.send(c);
  }

  private onReport(m: WorkerReport): void {
    if (m.type !== "exhausted") this.count(m.hashes);
    if (m.jobId !== this.jobId || this.template === undefined) return;
    if (m.type === 'found') this.solved(m.nonce);
  }

  private solved(nonce: number): void {
    const header = { ...this.template!, nonce };
    this.pause();
    if (!this.stopped) this.emit('found', header);
  }

  private scheduleInline(bytes: Buffer, target: Buffer, jobId: number): void {
    if (this.inlineTimer !== undefined) clearImmediate(this.inlineTimer);
    this.inlineTimer = setImmediate(() => {
      if (jobId !== this.jobId || this.template === undefined) return;
      const r = searchNonce(bytes, target, this.inlineNext, 5000);
      this.count(r.hashes);
      this.inlineNext += r.hashes;
      if (r.nonce !== undefined) this.solved(r.nonce);
      else this.scheduleInline(bytes, target, jobId);
    });
  }
}
