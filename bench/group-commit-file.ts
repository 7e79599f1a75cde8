import { fdatasync, writeSync, writevSync } from "node:fs";

/**
 * The least a durable append can be, for the ceiling benchmarks
 * (bench/durable-ceiling.ts, bench/hello-server.ts durable). One fdatasync
 * runs at a time; the appends that arrive while it runs are held and go to
 * the file in one gathered write just before the next, which they share
 * (group commit). Each append resolves when an fdatasync that began after
 * its write ends.
 */
export class GroupCommitFile {
  private position = 0;
  private syncing = false;
  private held: Uint8Array[] = [];
  private waiting: (() => void)[] = [];

  constructor(
    readonly fd: number,
    /** false: write at once and resolve (no fdatasync), to see the fsync's share. */
    private readonly sync = true,
  ) {}

  append(bytes: Uint8Array): Promise<void> {
    if (!this.sync) {
      this.write([bytes]);
      return Promise.resolve();
    }
    this.held.push(bytes);
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (!this.syncing) this.commit();
    });
  }

  private write(chunks: Uint8Array[]): void {
    const written = chunks.length === 1 ? writeSync(this.fd, chunks[0]!, 0, chunks[0]!.length, this.position) : writevSync(this.fd, chunks, this.position);
    this.position += written;
  }

  private commit(): void {
    if (this.waiting.length === 0) return;
    const round = this.waiting;
    this.waiting = [];
    this.write(this.held);
    this.held = [];
    this.syncing = true;
    fdatasync(this.fd, (error) => {
      if (error) throw error;
      this.syncing = false;
      for (const resolve of round) resolve();
      this.commit();
    });
  }
}
