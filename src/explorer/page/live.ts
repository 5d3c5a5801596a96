/**
 * The node's /api/events WebSocket, shared by every view: one connection,
 * handlers by event type, reconnection with backoff. After a reconnection it
 * emits a synthetic `resync` event, since events sent while it was away are lost.
 */
import type { EventMessage } from './types.ts';

export type LiveState = 'connecting' | 'open' | 'closed';
type Handler = (data: unknown) => void;

const MAX_BACKOFF_MS = 15_000;

/** One event stream with typed subscriptions. */
export class Live {
  private ws: WebSocket | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly stateHandlers = new Set<(s: LiveState) => void>();
  private failures = 0;
  private everOpened = false;
  state: LiveState = 'closed';

  /** Opens the stream on the page's own node. */
  start(): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.setState('connecting');
    const ws = new WebSocket(`${proto}//${location.host}/api/events`);
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0;
      this.setState('open');
      if (this.everOpened) this.emit('resync', null);
      this.everOpened = true;
    };
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return;
      let msg: EventMessage;
      try {
        msg = JSON.parse(e.data) as EventMessage;
      } catch {
        return;
      }
      this.emit(msg.type, msg.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.setState('closed');
      // Back off so a node that is down is not hammered, but come back quickly after a blip.
      const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.failures++);
      window.setTimeout(() => this.start(), wait);
    };
  }

  /** Calls fn for every event of this type (`block`, `tx`, `reorg`, `consensus`, `resync`...); returns the unsubscribe. */
  on(type: string, fn: Handler): () => void {
    let set = this.handlers.get(type);
    if (set === undefined) this.handlers.set(type, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Calls fn whenever the connection opens or closes; returns the unsubscribe. */
  onState(fn: (s: LiveState) => void): () => void {
    this.stateHandlers.add(fn);
    fn(this.state);
    return () => this.stateHandlers.delete(fn);
  }

  private setState(s: LiveState): void {
    this.state = s;
    for (const fn of this.stateHandlers) fn(s);
  }

  private emit(type: string, data: unknown): void {
    for (const fn of this.handlers.get(type) ?? []) {
      try {
        fn(data);
      } catch (e) {
        // One broken view must not stop the others from updating.
        console.warn(`explorer: ${type} handler failed`, e);
      }
    }
  }
}
