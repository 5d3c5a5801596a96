import type { Env } from './config.ts';
import type { Output } from './output.ts';

/** What every command receives instead of reaching for globals: environment, output and clock. */
export interface CliContext {
  readonly env: Env;
  readonly out: Output;
  /** Milliseconds since the Unix epoch. */
  readonly now: () => number;
}
