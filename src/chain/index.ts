/** chain/: the block index, fork choice, reorganisation and (later) block sync. */
export * from './block-index.ts';
export * from './rules.ts';
export * from './chain.ts';
export * from './sync.ts';
export * from './bft-rules.ts';
