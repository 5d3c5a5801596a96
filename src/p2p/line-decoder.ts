/** Newline-delimited framing for the TCP transport, with a bounded line buffer. */
import { decodeFrame, type Incoming } from './transport.ts';

const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines and parses each as JSON. A line longer than
 * the limit is reported once, as soon as it crosses the limit, and the rest of
 * it is discarded up to the next newline: memory stays bounded by the limit no
 * matter how long a line a peer sends.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private discarded = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds one chunk; calls emit for each complete line (or framing error) in order. */
  push(chunk: Buffer, emit: (m: Incoming) => void): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.discarding) {
        this.discarded += end - start;
        if (nl !== -1) {
          this.discarding = false;
          this.discarded = 0;
        }
      } else if (this.overLimit(chunk, start, end, nl)) {
        const bytes = this.size + (end - start);
        this.parts = [];
        this.size = 0;
        emit({ ok: false, error: { kind: 'oversized', message: `line exceeds ${this.maxLineBytes} bytes` }, bytes });
        this.discarding = nl === -1;
      } else if (nl === -1) {
        this.parts.push(chunk.subarray(start, end));
        this.size += end - start;
      } else {
        this.line(chunk, start, end, emit);
      }
      if (nl === -1) break;
      start = nl + 1;
    }
  }

  /** Bytes held for an incomplete line (never more than the limit + 1). */
  get buffered(): number {
    return this.size;
  }

  // A trailing CR belongs to a CRLF line ending, not to the line, so it does not count.
  private overLimit(chunk: Buffer, start: number, end: number, nl: number): boolean {
    const len = this.size + (end - start);
    if (nl === -1) return len > this.maxLineBytes + 1;
    const lastIsCr = end > start ? chunk[end - 1] === CR : this.lastHeldByte() === CR;
    return len - (lastIsCr ? 1 : 0) > this.maxLineBytes;
  }

  private lastHeldByte(): number | undefined {
    const last = this.parts[this.parts.length - 1];
    return last === undefined ? undefined : last[last.length - 1];
  }

  private line(chunk: Buffer, start: number, end: number, emit: (m: Incoming) => void): void {
    let buf: Buffer;
    if (this.parts.length === 0) buf = chunk.subarray(start, end);
    else {
      this.parts.push(chunk.subarray(start, end));
      buf = Buffer.concat(this.parts, this.size + (end - start));
      this.parts = [];
      this.size = 0;
    }
    let len = buf.length;
    if (len > 0 && buf[len - 1] === CR) len--;
    // Blank lines are keep-alives a person typing into nc may send; they are not messages.
    if (len === 0) return;
    emit(decodeFrame(buf.toString('utf8', 0, len), len));
  }
}
