import { verify as edVerify } from 'node:crypto';
import { publicKeyObject, type PublicKeyHex } from './keys.ts';

// Checks handed to libuv's thread pool at once. The pool is shared with file
// and LevelDB work; 256 checks are some 15-30 ms of it, so a store read or
// write never queues behind more than that. Checks beyond wait here, in order.
const MAX_IN_FLIGHT = 256;

let inFlight = 0;
const waiting: (() => void)[] = [];
let waitingHead = 0;

function startNext(): void {
  while (inFlight < MAX_IN_FLIGHT && waitingHead < waiting.length) {
    const start = waiting[waitingHead]!;
    waiting[waitingHead++] = undefined as unknown as () => void;
    start();
  }
  if (waitingHead === waiting.length) {
    waiting.length = 0;
    waitingHead = 0;
  }
}

/**
 * The same answer as `verify` (keys.ts), computed on libuv's thread pool so
 * that many run at once on every core while the event loop goes on: Ed25519
 * in node:crypto verifies about 9,000 signatures a second on one core of this
 * machine kind and about 16,500 on two this way. Never rejects.
 */
export function verifyAsync(publicKey: PublicKeyHex, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64) return Promise.resolve(false);
  let key;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const start = (): void => {
      inFlight++;
      const done = (ok: boolean): void => {
        inFlight--;
        resolve(ok);
        startNext();
      };
      try {
        edVerify(null, message, key, signature, (err, ok) => done(err === null && ok));
      } catch {
        done(false);
      }
    };
    if (inFlight < MAX_IN_FLIGHT) start();
    else waiting.push(start);
  });
}
