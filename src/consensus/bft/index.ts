/** consensus/bft: Tendermint-style BFT consensus as a pure state machine. */
export * from './types.ts';
export * from './validators.ts';
export * from './vote-set.ts';
export * from './state-machine.ts';
export * from './engine.ts';
export * from './wal.ts';
