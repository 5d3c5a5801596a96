/**
 * Named validation errors. Every rule a transaction or block can break has a
 * code here; the code travels in API answers and peer penalties.
 */
export const ERR = {
  // structure
  MALFORMED: 'MALFORMED',
  TOO_LARGE: 'TOO_LARGE',
  BAD_CHAIN_ID: 'BAD_CHAIN_ID',
  BAD_ADDRESS: 'BAD_ADDRESS',
  BAD_AMOUNT: 'BAD_AMOUNT',
  // transactions
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  BAD_NONCE: 'BAD_NONCE',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  FEE_TOO_LOW: 'FEE_TOO_LOW',
  OVERFLOW: 'OVERFLOW',
  RECORD_KEY: 'RECORD_KEY',
  RECORD_VALUE: 'RECORD_VALUE',
  NOT_MEMBER: 'NOT_MEMBER',
  // governance and membership
  GOVERNANCE_DISABLED: 'GOVERNANCE_DISABLED',
  BAD_GOVERNANCE_ACTION: 'BAD_GOVERNANCE_ACTION',
  DUPLICATE_APPROVAL: 'DUPLICATE_APPROVAL',
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  // blocks
  BAD_HEIGHT: 'BAD_HEIGHT',
  BAD_PREV_HASH: 'BAD_PREV_HASH',
  BAD_TX_ROOT: 'BAD_TX_ROOT',
  BAD_STATE_ROOT: 'BAD_STATE_ROOT',
  BAD_COINBASE: 'BAD_COINBASE',
  DUPLICATE_TX: 'DUPLICATE_TX',
  TOO_MANY_TXS: 'TOO_MANY_TXS',
  BLOCK_TOO_LARGE: 'BLOCK_TOO_LARGE',
  TIMESTAMP_TOO_OLD: 'TIMESTAMP_TOO_OLD',
  TIMESTAMP_IN_FUTURE: 'TIMESTAMP_IN_FUTURE',
  BAD_POW: 'BAD_POW',
  BAD_TARGET: 'BAD_TARGET',
  BAD_PROPOSER: 'BAD_PROPOSER',
  BAD_VERSION: 'BAD_VERSION',
  BAD_COMMIT: 'BAD_COMMIT',
  CONFLICTS_FINAL: 'CONFLICTS_FINAL',
  BAD_EVIDENCE: 'BAD_EVIDENCE',
  // genesis
  BAD_GENESIS: 'BAD_GENESIS',
  // mempool admission
  ALREADY_KNOWN: 'ALREADY_KNOWN',
  NONCE_GAP: 'NONCE_GAP',
  REPLACEMENT_UNDERPRICED: 'REPLACEMENT_UNDERPRICED',
  MEMPOOL_FULL: 'MEMPOOL_FULL',
} as const;

export type ErrorCode = (typeof ERR)[keyof typeof ERR];

/** A broken rule: a stable code and a message a person can act on. */
export interface RuleError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** The outcome of a pure check or transition: a value, or the rule it broke. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RuleError };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result naming the broken rule. */
export function fail<T = never>(code: ErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

/** An exception carrying a rule error, for callers that prefer throwing. */
export class ValidationError extends Error {
  readonly code: ErrorCode;
  constructor(error: RuleError) {
    super(error.message);
    this.name = 'ValidationError';
    this.code = error.code;
  }
}

/** The value of a result, or throws its error as a ValidationError. */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new ValidationError(r.error);
}
