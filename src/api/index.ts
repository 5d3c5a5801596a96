/** api/: the HTTP + WebSocket API a node serves to clients. */
export { startApi, DEFAULT_API_HOST, DEFAULT_API_PORT } from './server.ts';
export { isLoopbackHost } from './security.ts';
export { EVENT_TYPES, EVENTS_PATH } from './events.ts';
export { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
export type * from './types.ts';
