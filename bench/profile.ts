/** In-process CPU profiling of one bench phase: BENCH_PROF=DIR writes DIR/<name>.cpuprofile (open it in Chrome's DevTools). */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Runs `fn`, profiling it when BENCH_PROF names a directory. */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROF;
  if (dir === undefined || dir === '') return fn();
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await s.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    s.disconnect();
  }
}
