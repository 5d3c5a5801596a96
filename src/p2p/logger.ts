/** The logging surface p2p needs: a structural subset of pino, so the node can pass its logger in. */

/** A pino-compatible logger (object first, then the message). */
export interface P2PLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** A logger that drops everything (the default when none is injected). */
export const silentLogger: P2PLogger = { info() {}, warn() {}, debug() {} };
