/**
 * DeleteTopics (1–3): each topic deleted through the same domain call as
 * DELETE /api/v1/topics/{name} (Broker.deleteTopic: the gate, then a durable
 * delete), each answered with its own error code: UNKNOWN_TOPIC_OR_PARTITION
 * for a topic that does not exist, NOT_CONTROLLER on a follower (the client
 * then asks the controller Metadata names, the leader).
 */
import { ANONYMOUS, type Principal } from "../security/principal.ts";
import type { TopicAdminView } from "./create-topics.ts";
import type { ServedApi } from "./dispatcher.ts";
import { KAFKA_ERRORS } from "./error-codes.ts";
import { DELETE_TOPICS } from "./protocol/messages/delete-topics.ts";
import type { MessageValue } from "./protocol/types.ts";
import { withinTimeout } from "./within-timeout.ts";

export function deleteTopicsApi(view: TopicAdminView, principal: Principal = ANONYMOUS): ServedApi {
  return {
    api: DELETE_TOPICS,
    handle: async (body) => {
      const names = body.topicNames as string[];
      const results = await withinTimeout(
        view.clock,
        body.timeoutMs as number,
        names.map((name) => deleteOne(view, principal, name)),
        (index) => ({ name: names[index]!, errorCode: KAFKA_ERRORS.requestTimedOut }),
      );
      return { throttleTimeMs: 0, responses: results };
    },
  };
}

async function deleteOne(view: TopicAdminView, principal: Principal, name: string): Promise<MessageValue> {
  try {
    await view.broker.deleteTopic(name, principal);
    return { name, errorCode: KAFKA_ERRORS.none };
  } catch (error) {
    return { name, errorCode: view.failure(error) };
  }
}
