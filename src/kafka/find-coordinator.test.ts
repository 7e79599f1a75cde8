import { expect, test } from "bun:test";
import type { Broker } from "../broker/broker.ts";
import type { KafkaClusterView } from "../replication/kafka-cluster.ts";
import type { Operation, Resource } from "../security/operations.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { findCoordinatorApi } from "./find-coordinator.ts";
import type { ClusterView } from "./metadata.ts";

/** A broker whose gate answers `allowed` and records what it was asked. */
function gate(allowed: boolean) {
  const asked: { operation: Operation; resource: Resource }[] = [];
  const broker = {
    allows: (_principal: unknown, operation: Operation, resource: Resource) => {
      asked.push({ operation, resource });
      return allowed;
    },
  } as unknown as Broker;
  return { broker, asked };
}

function cluster(members: Partial<KafkaClusterView>): ClusterView {
  const view: KafkaClusterView = { leaderId: null, brokers: [], replicaIds: [], offlineIds: [], inSyncIds: () => [], ...members };
  return { brokerId: 2, advertised: { host: "follower.example", port: 9093 }, clusterId: () => null, leaderId: () => view.leaderId, members: () => view };
}

const header = (version: number) => ({ requestApiKey: 10, requestApiVersion: version, correlationId: 1, clientId: null });
const ask = (broker: Broker, view: ClusterView, body: Record<string, unknown>, version = 2) => findCoordinatorApi(broker, view).handle(body, header(version), new AbortController().signal);

const led = cluster({
  leaderId: 1,
  brokers: [
    { id: 2, address: "follower.example:9093" },
    { id: 1, address: "[::1]:9092" },
  ],
});

test("a group's coordinator is the leader, at its Kafka address, whichever version asks (v0 has no key type)", () => {
  const { broker, asked } = gate(true);
  for (const version of [0, 1, 2]) {
    const body = version === 0 ? { key: "g" } : { key: "g", keyType: 0 };
    expect(ask(broker, led, body, version)).toEqual({ throttleTimeMs: 0, errorCode: KAFKA_ERRORS.none, errorMessage: null, nodeId: 1, host: "::1", port: 9092 });
  }
  // The gate is asked what the HTTP door's group status asks.
  expect(asked[0]).toEqual({ operation: "group_describe", resource: { kind: "group", id: "g" } });
});

test("when this broker leads, its advertised address", () => {
  const { broker } = gate(true);
  const self = cluster({ leaderId: 2, brokers: [{ id: 2, address: "follower.example:9093" }] });
  expect(ask(broker, self, { key: "g", keyType: 0 })).toMatchObject({ errorCode: KAFKA_ERRORS.none, nodeId: 2, host: "follower.example", port: 9093 });
});

test("a principal that may not describe the group: GROUP_AUTHORIZATION_FAILED, and no broker named", () => {
  const { broker } = gate(false);
  expect(ask(broker, led, { key: "g", keyType: 0 })).toMatchObject({ errorCode: KAFKA_ERRORS.groupAuthorizationFailed, nodeId: -1, host: "", port: -1 });
});

test("no leader known here: COORDINATOR_NOT_AVAILABLE (retriable)", () => {
  const { broker } = gate(true);
  expect(ask(broker, cluster({}), { key: "g", keyType: 0 })).toMatchObject({ errorCode: KAFKA_ERRORS.coordinatorNotAvailable, nodeId: -1 });
});

test("a transactional id (key type 1) or any other key type: INVALID_REQUEST, before the gate is asked", () => {
  const { broker, asked } = gate(true);
  for (const keyType of [1, 2, 7]) {
    const answer = ask(broker, led, { key: "tx", keyType }) as { errorCode: number; errorMessage: string };
    expect(answer.errorCode).toBe(KAFKA_ERRORS.invalidRequest);
    expect(answer.errorMessage).toContain("no transactions");
  }
  expect(asked).toEqual([]);
});
