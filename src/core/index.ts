/** core/: the ledger's pure logic. No I/O: no sockets, disk, clock or randomness. */
export * from './encoding.ts';
export * from './amount.ts';
export * from './errors.ts';
export * from './types.ts';
export * from './tx.ts';
export * from './merkle.ts';
export * from './trie.ts';
export * from './state.ts';
export * from './block.ts';
export * from './pow.ts';
export * from './header-rules.ts';
export * from './transition.ts';
export * from './genesis.ts';
export * from './membership.ts';
export * from './governance.ts';
export * from './member-cert.ts';
export * from './assemble.ts';
