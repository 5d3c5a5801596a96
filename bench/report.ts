/** Bench reporting: a table on stdout and a JSON file under bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** One measured figure beside the ceiling it is compared with. */
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The ceiling measured in the same run (same unit), if the figure has one. */
  readonly ceiling?: number;
  readonly ceilingName?: string;
  /** The target the issue sets, as a ratio of the ceiling or an absolute bound. */
  readonly target?: string;
}

/** Prints rows as a table and writes them to bench/results/NAME.json. */
export function report(bench: string, rows: BenchRow[], extra: Record<string, unknown> = {}): void {
  const lines = rows.map((r) => {
    const ratio = r.ceiling !== undefined && r.ceiling > 0 ? `${((100 * r.value) / r.ceiling).toFixed(1)}%` : '';
    return [r.name, fmt(r.value) + ' ' + r.unit, r.ceiling !== undefined ? `${fmt(r.ceiling)} (${r.ceilingName ?? 'ceiling'})` : '', ratio, r.target ?? ''];
  });
  const head = ['measure', 'value', 'ceiling', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cols: string[]): string => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n== ${bench} ==`);
  console.log(row(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(row(l));
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${bench}.json`, dir);
  writeFileSync(file, JSON.stringify({ bench, time: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, rows, ...extra }, null, 2) + '\n');
}

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}
