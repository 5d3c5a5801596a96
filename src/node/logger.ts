import { pino, type Logger as PinoLogger } from 'pino';

/** The node's structured logger (pino). */
export type Logger = PinoLogger;

/** A logger writing JSON lines to stderr, or nothing when silent. */
export function createLogger(opts: { level?: string; name?: string; silent?: boolean } = {}): Logger {
  if (opts.silent === true) return pino({ level: 'silent' });
  return pino({ level: opts.level ?? 'info', name: opts.name, base: opts.name === undefined ? undefined : { node: opts.name } }, pino.destination(2));
}
