/**
 * A mining process. The parent sends a job (header bytes with the nonce last,
 * target, which residue class of nonces to try); this process hashes in
 * slices and reports progress and any solution. Separate processes, not
 * worker threads: on the target machines only processes scaled SHA-256.
 */
import { searchNonce } from './search.ts';

/** Parent to worker. */
export type WorkerCommand = { type: 'job'; jobId: number; header: string; target: string; first: number; step: number } | { type: 'stop' };
/** Worker to parent. */
export type WorkerReport = { type: 'progress'; jobId: number; hashes: number } | { type: 'found'; jobId: number; nonce: number; hashes: number } | { type: 'exhausted'; jobId: number };

const SLICE = 20_000;
let job: { jobId: number; header: Buffer; target: Buffer; next: number; step: number } | undefined;
let scheduled = false;

function send(r: WorkerReport): void {
  process.send?.(r);
}

function work(): void {
  scheduled = false;
  const j = job;
  if (j === undefined) return;
  const r = searchNonce(j.header, j.target, j.next, SLICE, j.step);
  if (r.nonce !== undefined) {
    send({ type: 'found', jobId: j.jobId, nonce: r.nonce, hashes: r.hashes });
    job = undefined;
    return;
  }
  j.next += SLICE * j.step;
  send({ type: 'progress', jobId: j.jobId, hashes: r.hashes });
  if (r.hashes < SLICE) {
    send({ type: 'exhausted', jobId: j.jobId });
    job = undefined;
    return;
  }
  schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // setImmediate lets a new job or a stop arrive between slices.
  setImmediate(work);
}

process.on('message', (m: WorkerCommand) => {
  if (m.type === 'stop') {
    job = undefined;
    return;
  }
  job = { jobId: m.jobId, header: Buffer.from(m.header, 'hex'), target: Buffer.from(m.target, 'hex'), next: m.first, step: m.step };
  schedule();
});
process.on('disconnect', () => process.exit(0));
