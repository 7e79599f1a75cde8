import type { Broker } from "../broker/broker.ts";
import { type CleanerPass, readCleanerPasses } from "../storage/cleaner-checkpoint.ts";
import type { StreamSession } from "./stream-session.ts";

/**
 * The leader's side of replicated compaction: its cleaner decides every pass
 * (src/broker/log-cleaner.ts), and each pass's cleaner checkpoint, once the
 * pass is swapped in and recorded, goes to every open stream as a
 * `cleaner_passes` message (src/replication/stream-codec.ts). A stream that
 * opens first gets the checkpoint of every partition that has one, after its
 * `start` messages: a follower that restarted, or missed messages while
 * disconnected, learns from it which passes it still has to repeat.
 */
export class CleanerPassRelay {
  private readonly sessions = new Set<StreamSession>();

  constructor(private readonly broker: Pick<Broker, "partitionEntries">) {}

  /** A stream opened: every partition's checkpoint goes out on it now, and each pass's later. */
  opened(session: StreamSession): void {
    for (const known of this.sessions) if (known.isClosed) this.sessions.delete(known);
    this.sessions.add(session);
    for (const entry of this.broker.partitionEntries()) {
      if (entry.log === undefined || entry.log.status !== "online") continue;
      const { fs, dir } = entry.log.compactionTarget().files;
      const passes = readCleanerPasses(fs, dir);
      if (passes.length > 0) session.send({ type: "cleaner_passes", topic: entry.topic, partition: entry.partition, passes });
    }
  }

  /** This leader's cleaner recorded a pass: `passes` is the checkpoint it wrote. */
  passRecorded(topic: string, partition: number, passes: CleanerPass[]): void {
    for (const session of this.sessions) {
      if (session.isClosed) this.sessions.delete(session);
      else session.send({ type: "cleaner_passes", topic, partition, passes });
    }
  }

  /** Leadership ended: no stream of it carries passes any more. */
  clear(): void {
    this.sessions.clear();
  }
}
