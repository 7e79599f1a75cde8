/**
 * The peer-proof nonces seen within the proof window (peer-proof.ts), so a
 * proof is taken once. Bounded: at most `entriesMax` nonces, each forgotten
 * once its proof's timestamp has left the window (a replay of it is then
 * refused as too old anyway). Only proofs whose MAC verified are remembered,
 * so only holders of the cluster secret can fill it. Should the brokers'
 * own traffic fill it with nonces still in the window, the oldest remembered
 * is forgotten first: the replay window shrinks under that load rather than
 * refusing peers (on a network, TLS keeps captured proofs out of reach).
 */
export class NonceCache {
  /** Nonce → wall ms after which it may be forgotten; insertion order is roughly expiry order. */
  private readonly expiresAtMs = new Map<string, number>();
  private evictionsCount = 0;

  constructor(private readonly entriesMax: number) {}

  /**
   * Remembers `nonce` until `expiresAtMs`; false when it is remembered
   * already (a replay). `nowMs` forgets what has expired.
   */
  remember(nonce: string, expiresAtMs: number, nowMs: number): boolean {
    this.forgetExpiredFront(nowMs);
    const known = this.expiresAtMs.get(nonce);
    if (known !== undefined && known > nowMs) return false;
    if (this.expiresAtMs.size >= this.entriesMax) this.makeRoom(nowMs);
    this.expiresAtMs.set(nonce, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.expiresAtMs.size;
  }

  /** Nonces forgotten before they expired, for want of room. */
  get evictions(): number {
    return this.evictionsCount;
  }

  /** Cheap and amortized O(1): the front is the oldest, and usually the first to expire. */
  private forgetExpiredFront(nowMs: number): void {
    for (const [nonce, expiresAtMs] of this.expiresAtMs) {
      if (expiresAtMs > nowMs) return;
      this.expiresAtMs.delete(nonce);
    }
  }

  private makeRoom(nowMs: number): void {
    for (const [nonce, expiresAtMs] of this.expiresAtMs) if (expiresAtMs <= nowMs) this.expiresAtMs.delete(nonce);
    while (this.expiresAtMs.size >= this.entriesMax) {
      const oldest = this.expiresAtMs.keys().next().value as string;
      this.expiresAtMs.delete(oldest);
      this.evictionsCount++;
    }
  }
}
