/** mempool/: pending transactions, admission, ordering, eviction. */
export * from './pool.ts';
