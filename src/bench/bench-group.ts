import { type Admin, isGafkaClientError } from "../client/index.ts";
import { limits } from "../core/limits.ts";
import { errorText } from "./bench-result.ts";

/**
 * The consumer group a run reads through: the one named with `--group`, or
 * one made up for the run (`gafka-bench-<run id>`, unique), which the run deletes
 * when it is done (`deleteIfCreated`), so benchmarks leave no groups behind.
 */
export class BenchGroup {
  readonly groupId: string;
  private readonly created: boolean;

  constructor(named: string | undefined, madeUpName: string) {
    this.groupId = named ?? madeUpName;
    this.created = named === undefined;
  }

  /**
   * Deletes the group if the run made it up, once its members have left
   * (call it after closing them). A group nobody joined is not there to
   * delete; one that still has a member (whose leave did not reach the
   * broker) is tried again until that member's session has run out.
   */
  async deleteIfCreated(admin: Admin): Promise<void> {
    if (!this.created) return;
    const deadlineMs = performance.now() + limits.sessionTimeoutMsDefault + 2_000;
    for (;;) {
      try {
        await admin.deleteGroup(this.groupId);
        return;
      } catch (error) {
        if (isGafkaClientError(error) && error.code === "group_not_found") return;
        if (!isGafkaClientError(error) || error.code !== "group_not_empty" || performance.now() > deadlineMs) {
          throw new Error(`could not delete the run's group ${this.groupId} (gafka admin groups delete --group=${this.groupId}): ${errorText(error)}`);
        }
      }
      await Bun.sleep(100);
    }
  }
}
