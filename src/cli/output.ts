/**
 * Where commands print. Results go to stdout (so they can be piped), notes and
 * errors to stderr; commands never touch process.stdout directly, so a test or
 * a future TUI can capture them.
 */
export interface Output {
  /** One line of a command's result, on stdout. */
  line(text?: string): void;
  /** A machine-readable result (for --json), pretty-printed on stdout. */
  json(value: unknown): void;
  /** A note or warning for the person at the terminal, on stderr. */
  note(text: string): void;
  /** Raw text to stdout (commander's help and version). */
  writeOut(text: string): void;
  /** Raw text to stderr (commander's usage errors). */
  writeErr(text: string): void;
  /** True when stdout is a terminal, so long work may draw progress bars. */
  readonly isTTY: boolean;
}

/** The Output backed by the process's stdout and stderr. */
export function processOutput(): Output {
  // A closed pipe (`peerchain --help | head -1`) is the reader's choice, not a crash worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  return {
    line: (text = '') => process.stdout.write(text + '\n'),
    json: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
    note: (text) => process.stderr.write(text + '\n'),
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
  };
}

/** Formats label/value pairs as aligned lines ("label:  value"). */
export function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${(k + ':').padEnd(width)} ${v}`);
}
