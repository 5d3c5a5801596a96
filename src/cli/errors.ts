import { KeystoreError } from '../node/keystore.ts';

/**
 * User errors: bad flags, missing files, wrong passphrases. They print as one
 * `error: ...` line with no stack trace; anything else is a bug and says so.
 */

/** Exit code of a user error (bad flag, value or file). Commander's usage errors use 1 as well. */
export const EXIT_USER_ERROR = 1;
/** Exit code of an unexpected failure: a bug, not something the user typed. */
export const EXIT_INTERNAL_ERROR = 2;

/** An error the user can fix; its message names the bad flag, value or file. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_USER_ERROR) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Quotes a user-supplied value so that empty strings and spaces stay visible in messages. */
export function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A CliError for a bad flag (or environment variable) value: `--nodes: expected ..., got "abc"`. */
export function badValue(source: string, value: unknown, expected: string): CliError {
  return new CliError(`${source}: expected ${expected}, got ${quote(value)}`);
}

/** The one-line message of a user error, or undefined if the error is a bug. */
export function userErrorMessage(e: unknown): string | undefined {
  if (e instanceof CliError || e instanceof KeystoreError) return e.message;
  return undefined;
}
