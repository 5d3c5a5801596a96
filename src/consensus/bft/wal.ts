/**
 * The validator's write-ahead log: every vote and proposal it signs is on disk
 * (fdatasync) before it leaves the node, so that after any crash it can
 * rebuild what it said and never sign something that contradicts it.
 *
 * The file is newline-delimited JSON, appended to and never edited in place;
 * pruning rewrites it to a temporary file and renames it over the old one.
 * A line torn by a crash is the last one and is cut off at the next open:
 * its vote was never sent, because sending waits for the write.
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isWellFormedProposal, isWellFormedVote, type Proposal, type Vote } from './types.ts';

/** One signed message in the log. */
export type WalEntry = { readonly vote: Vote } | { readonly proposal: Proposal };

/** What a log holds, split by kind. */
export interface WalContents {
  readonly votes: Vote[];
  readonly proposals: Proposal[];
  /** Lines that did not parse (a torn last write, or damage). */
  readonly skipped: number;
}

// Rewrite the file once this many entries are below the pruning height.
const PRUNE_SLACK = 512;

const heightOf = (e: WalEntry): number => ('vote' in e ? e.vote.height : e.proposal.height);

/** An append-only, fsynced log of this validator's signed votes and proposals. */
export class Wal {
  private fd: number;
  private entries: WalEntry[];

  private constructor(
    readonly file: string,
    entries: WalEntry[],
  ) {
    this.entries = entries;
    this.fd = openSync(file, 'a');
  }

  /** Opens (or creates) the log at `file` and reads what it holds. */
  static open(file: string): { wal: Wal; contents: WalContents } {
    mkdirSync(dirname(file), { recursive: true });
    const entries: WalEntry[] = [];
    let skipped = 0;
    if (existsSync(file)) {
      const bytes = readFileSync(file);
      const end = bytes.lastIndexOf(0x0a) + 1;
      // A torn last line (no newline) goes: the next entry appended would
      // otherwise be glued onto it, and that vote, sent, would not parse back.
      if (end < bytes.length) {
        cutTo(file, end);
        if (bytes.toString('utf8', end).trim() !== '') skipped++;
      }
      for (const line of bytes.toString('utf8', 0, end).split('\n')) {
        if (line.trim() === '') continue;
        const e = parseEntry(line);
        if (e === undefined) skipped++;
        else entries.push(e);
      }
    }
    const wal = new Wal(file, entries);
    return { wal, contents: { ...split(entries), skipped } };
  }

  /** Appends one entry and waits until it is on disk. */
  append(entry: WalEntry): void {
    writeSync(this.fd, JSON.stringify(entry) + '\n');
    fdatasyncSync(this.fd);
    this.entries.push(entry);
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.length;
  }

  /** Drops entries below `height` (already committed and stored) once enough have piled up. */
  prune(height: number): void {
    const keep = this.entries.filter((e) => heightOf(e) >= height);
    if (this.entries.length - keep.length < PRUNE_SLACK) return;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, keep.map((e) => JSON.stringify(e) + '\n').join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    closeSync(this.fd);
    renameSync(tmp, this.file);
    syncDir(dirname(this.file));
    this.fd = openSync(this.file, 'a');
    this.entries = keep;
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}

function parseEntry(line: string): WalEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (isWellFormedVote(o.vote)) return { vote: o.vote };
  if (isWellFormedProposal(o.proposal)) return { proposal: o.proposal };
  return undefined;
}

function split(entries: readonly WalEntry[]): { votes: Vote[]; proposals: Proposal[] } {
  const votes: Vote[] = [];
  const proposals: Proposal[] = [];
  for (const e of entries) {
    if ('vote' in e) votes.push(e.vote);
    else proposals.push(e.proposal);
  }
  return { votes, proposals };
}

/** Truncates the file to `length` bytes, durably, before anything is appended. */
function cutTo(file: string, length: number): void {
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  // The rename is durable only once the directory entry is.
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems do not allow fsync on a directory; the rename still happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
