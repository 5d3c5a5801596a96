/** The bootstrap role's member directory: nodes that registered with it and the addresses they listen on. */

/** One registered member. */
export interface Member {
  readonly nodeId: string;
  listen: readonly string[];
  lastSeen: number;
}

/** A bounded directory of members; the oldest-seen member is forgotten first. */
export class MemberDirectory {
  private readonly members = new Map<string, Member>();

  constructor(
    private readonly capacity = 10_000,
    private readonly ttlMs = 24 * 3600_000,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /** Records (or refreshes) a member and its listen addresses. Returns true if it is new. */
  register(nodeId: string, listen: readonly string[], now: number): boolean {
    const isNew = !this.members.delete(nodeId);
    this.members.set(nodeId, { nodeId, listen: [...listen], lastSeen: now });
    if (this.members.size > this.capacity) {
      const oldest = this.members.keys().next().value as string;
      this.members.delete(oldest);
    }
    return isNew;
  }

  /** Refreshes a member's last-seen time (it is still connected). */
  touch(nodeId: string, now: number): void {
    const m = this.members.get(nodeId);
    if (m !== undefined) m.lastSeen = now;
  }

  /** Addresses of members seen within the TTL, other than the excluded node. */
  addresses(now: number, excludeNodeId?: string): string[] {
    const out: string[] = [];
    for (const m of this.members.values()) {
      if (now - m.lastSeen > this.ttlMs) {
        this.members.delete(m.nodeId);
        continue;
      }
      if (m.nodeId !== excludeNodeId) out.push(...m.listen);
    }
    return out;
  }
}
