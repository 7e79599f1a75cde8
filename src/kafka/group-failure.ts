import { isGafkaError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { ClassicGroupError } from "../groups/classic-coordinator.ts";
import { type KafkaErrorCode, kafkaGroupErrorCode } from "./error-codes.ts";

/**
 * The Kafka error code a group API answers for a refusal or failure; one
 * that is neither the protocol's answer nor a GafkaError is a bug, logged
 * with its stack (the client sees UNKNOWN_SERVER_ERROR).
 */
export function groupFailureCode(error: ClassicGroupError | unknown, logger: Logger, what: string): KafkaErrorCode {
  if (typeof error !== "string" && !isGafkaError(error)) {
    logger.error(`kafka ${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return kafkaGroupErrorCode(error);
}
