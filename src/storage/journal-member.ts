import { GafkaError } from "../core/errors.ts";
import type { JournalLink } from "./commit-journal.ts";
import { describe } from "./log-writer.ts";

/** What a partition log lends its journal membership. */
export interface JournalMemberHost {
  name: string;
  /** fdatasyncs the active segment when written since its last one, while the log is online; undefined otherwise. */
  syncActive(): Promise<void> | undefined;
  /** The log failed (LogWriter.fail): offline, reopened through recovery. */
  fail(reason: string): void;
}

/**
 * A partition log's side of the commit journal (src/storage/commit-journal.ts):
 * the journal's checkpoints fdatasync its active segment through it, its
 * truncations and restarts are recorded through it before they change the
 * files, and a `forget` once they did. Without a journal (policies other than `always`, or the journal
 * turned off) every call does nothing.
 */
export class JournalMember {
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly link: JournalLink | undefined,
    private readonly host: JournalMemberHost,
  ) {}

  /** Takes part in the journal's checkpoints from now on (after the log loaded). */
  start(): void {
    this.link?.register(() => this.sync());
  }

  /** Records a truncation or restart durably in the journal, before the files change. */
  record(op: { kind: "truncate" | "restart"; offset: number }): void {
    this.link?.recordNow(op);
  }

  /**
   * The log's files changed other than by appends (a truncation, a restart,
   * a reopen's cut) and are durable: its earlier journal entries are
   * forgotten, so that a replay never compares them with files that no
   * longer hold them. Recorded durably before the log takes appends again.
   */
  changed(): void {
    this.link?.recordNow({ kind: "forget" });
  }

  /** Resolves once no checkpoint fdatasync runs on the log's descriptors (before they are closed or cut). */
  async settled(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /** Leaves the checkpoints: the log closes (and fdatasyncs its segment itself). */
  async stop(): Promise<void> {
    this.closed = true;
    await this.settled();
    this.link?.unregister();
  }

  /**
   * A checkpoint: fdatasyncs the active segment (sealed ones were at their
   * roll). A log that is offline cannot vouch for its files: the checkpoint
   * stays incomplete and the journal keeps its records. A failed fdatasync
   * fails the log, as a failed group commit would.
   */
  private sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const synced = this.host.syncActive();
    if (synced === undefined) {
      return Promise.reject(new GafkaError("partition_offline", `partition ${this.host.name} is offline; its journal records are kept`, { retriable: true }));
    }
    let done!: () => void;
    const inFlight = new Promise<void>((resolve) => (done = resolve));
    this.inFlight = inFlight;
    return synced
      .catch((error: unknown) => {
        this.host.fail(`fsync failed at a journal checkpoint: ${describe(error)}`);
        throw error;
      })
      .finally(() => {
        if (this.inFlight === inFlight) this.inFlight = undefined;
        done();
      });
  }
}
