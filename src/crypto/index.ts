/** crypto/: hashing, Ed25519 keys and signatures, addresses, key files, node certificates. Pure, no I/O. */
export * from './hex.ts';
export * from './hash.ts';
export * from './keys.ts';
export * from './verify-async.ts';
export * from './bech32.ts';
export * from './address.ts';
export * from './keyfile.ts';
export * from './x509.ts';
