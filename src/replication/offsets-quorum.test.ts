import { expect, test } from "bun:test";
import { type GafkaError, isGafkaError } from "../core/errors.ts";
import { OffsetsQuorum } from "./offsets-quorum.ts";

const LAG_MS = 1000;

/** The outcome of a wait so far: pending, resolved, or the error's code. */
function track(promise: Promise<void>): { state: string } {
  const outcome = { state: "pending" };
  promise.then(
    () => (outcome.state = "acknowledged"),
    (error: unknown) => (outcome.state = isGafkaError(error) ? (error as GafkaError).code : String(error)),
  );
  return outcome;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test("with two replicas required, a commit waits until a follower reports holding it", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.reported(2, 0);
  quorum.leaderHolds(1);
  quorum.sent(2, 1, 10);
  const wait = track(quorum.waitFor(1, 10));
  await settle();
  expect(wait.state).toBe("pending");
  quorum.reported(2, 1);
  await settle();
  expect(wait.state).toBe("acknowledged");
  expect(quorum.acknowledged).toBe(1);
});

test("a follower holding more than the leader (a snapshot of unsynced writes) counts only up to the leader's copy", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 5, 0);
  quorum.reported(2, 5);
  quorum.leaderHolds(3);
  expect(quorum.acknowledged).toBe(3);
  const wait = track(quorum.waitFor(5, 0));
  await settle();
  expect(wait.state).toBe("pending");
  quorum.leaderHolds(5);
  await settle();
  expect(wait.state).toBe("acknowledged");
});

test("a follower that stops reporting fails the wait once replicaLagMaxMs passes, and later commits are refused up front", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.reported(2, 0);
  quorum.leaderHolds(1);
  quorum.sent(2, 1, 100);
  const wait = track(quorum.waitFor(1, 100));
  quorum.tick(100 + LAG_MS);
  await settle();
  expect(wait.state).toBe("pending");
  expect(quorum.canMeet(100 + LAG_MS)).toBe(true);
  quorum.tick(100 + LAG_MS + 1);
  await settle();
  expect(wait.state).toBe("not_enough_replicas_after_append");
  expect(quorum.acknowledged).toBe(0);
  expect(quorum.canMeet(100 + LAG_MS + 1)).toBe(false);
  // A report that comes late still counts for what it covers: the follower is back in sync.
  quorum.reported(2, 1);
  expect(quorum.acknowledged).toBe(1);
  expect(quorum.canMeet(100 + LAG_MS + 1)).toBe(true);
});

test("the wait is bounded even while the follower reports other messages in time", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.reported(2, 0);
  const wait = track(quorum.waitFor(7, 0)); // the leader itself never holds 7
  quorum.tick(LAG_MS);
  await settle();
  expect(wait.state).toBe("pending");
  quorum.tick(LAG_MS + 1);
  await settle();
  expect(wait.state).toBe("not_enough_replicas_after_append");
});

test("a follower whose stream ended counts for replicaLagMaxMs, its reports of the old stream do not", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.reported(2, 0);
  quorum.leaderHolds(1);
  quorum.sent(2, 1, 10);
  const wait = track(quorum.waitFor(1, 10));
  quorum.streamEnded(2, 20);
  quorum.reported(2, 1); // a late ack of the ended stream
  await settle();
  expect(wait.state).toBe("pending");
  // It reconnects: the new stream's snapshot covers write 1; its report acknowledges it.
  quorum.streamStarted(2, 1, 500);
  quorum.reported(2, 1);
  await settle();
  expect(wait.state).toBe("acknowledged");

  quorum.leaderHolds(2);
  quorum.streamEnded(2, 600);
  const second = track(quorum.waitFor(2, 600));
  quorum.tick(600 + LAG_MS + 1);
  await settle();
  expect(second.state).toBe("not_enough_replicas_after_append");
});

test("reconnecting does not reset how long a follower has gone without reporting", () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.streamEnded(2, 100);
  quorum.streamStarted(2, 0, 900);
  expect(quorum.canMeet(900)).toBe(true);
  expect(quorum.canMeet(LAG_MS + 1)).toBe(false);
});

test("a follower that leaves fails the waits at once; too few followers refuse at once", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  expect(quorum.canMeet(0)).toBe(false);
  expect(track(quorum.waitFor(1, 0)).state).toBe("pending"); // settles on the next turn
  const refused = track(quorum.waitFor(1, 0));
  await settle();
  expect(refused.state).toBe("not_enough_replicas_after_append");

  quorum.streamStarted(2, 0, 0);
  quorum.leaderHolds(1);
  quorum.sent(2, 1, 0);
  const wait = track(quorum.waitFor(1, 0));
  quorum.left(2, 5);
  await settle();
  expect(wait.state).toBe("not_enough_replicas_after_append");
});

test("three replicas required: the second follower's report completes the quorum", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 3, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.streamStarted(3, 0, 0);
  quorum.leaderHolds(4);
  const wait = track(quorum.waitFor(4, 0));
  quorum.reported(2, 4);
  await settle();
  expect(wait.state).toBe("pending");
  quorum.reported(3, 4);
  await settle();
  expect(wait.state).toBe("acknowledged");
});

test("stopping fails every wait, and every later one, with the reason", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 2, replicaLagMaxMs: LAG_MS });
  quorum.streamStarted(2, 0, 0);
  quorum.leaderHolds(1);
  const wait = track(quorum.waitFor(1, 0));
  quorum.stop(new Error("deposed"));
  const later = track(quorum.waitFor(1, 0));
  await settle();
  expect(wait.state).toBe("Error: deposed");
  expect(later.state).toBe("Error: deposed");
});

test("with one replica required the leader's copy is enough", async () => {
  const quorum = new OffsetsQuorum({ minInsyncReplicas: 1, replicaLagMaxMs: LAG_MS });
  quorum.leaderHolds(3);
  const wait = track(quorum.waitFor(3, 0));
  await settle();
  expect(wait.state).toBe("acknowledged");
});
