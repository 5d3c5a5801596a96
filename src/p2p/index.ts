/** p2p/: transports (ws, tcp, in-memory), framing, message schemas, handshake and peers. */
export * from './address.ts';
export * from './clock.ts';
export * from './transport.ts';
export { LineDecoder } from './line-decoder.ts';
export { wsTransport, WS_CLOSE_TOO_BIG } from './ws-transport.ts';
export { tcpTransport } from './tcp-transport.ts';
export { MemoryNetwork, MemoryListener, memoryTransport, type MemoryTransportOptions } from './memory-transport.ts';
export * from './messages.ts';
export * from './handshake.ts';
export { TokenBucket } from './token-bucket.ts';
export * from './peer.ts';
