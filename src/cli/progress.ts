import { SingleBar } from 'cli-progress';
import type { NodeRuntime } from '../node/runtime.ts';

/** Shows sync progress: a bar with blocks/s and ETA on a terminal, plain lines otherwise. */
export function startProgress(rt: NodeRuntime, o: { tty: boolean; write: (line: string) => void }): { stop(): void } {
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let last = { t: Date.now(), h: rt.node.chain.height };
  let rate = 0;
  const timer = setInterval(() => {
    const p = rt.progress();
    const now = Date.now();
    const dt = (now - last.t) / 1000;
    if (dt >= 1) {
      rate = 0.7 * rate + (0.3 * (p.height - last.h)) / dt;
      last = { t: now, h: p.height };
    }
    const gap = p.target - p.height;
    // Only a real gap is "syncing": one block behind is the normal state of a live chain.
    if (gap > 1) {
      if (o.tty) {
        if (bar === undefined) {
          bar = new SingleBar({ format: 'sync [{bar}] {value}/{total} blocks | {rate} blocks/s | ETA {eta_formatted}', hideCursor: true, stream: process.stderr });
          bar.start(p.target, p.height, { rate: '0' });
        }
        bar.setTotal(p.target);
        bar.update(p.height, { rate: rate.toFixed(0) });
      } else if (now - lastLine >= 5000) {
        lastLine = now;
        const eta = rate > 0 ? `${Math.ceil(gap / rate)} s` : 'unknown';
        o.write(`sync: height ${p.height} of ${p.target} (${rate.toFixed(0)} blocks/s, ETA ${eta})\n`);
      }
    } else if (bar !== undefined) {
      bar.update(p.target);
      bar.stop();
      bar = undefined;
    }
  }, 250);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      bar?.stop();
    },
  };
}
