/**
 * The decoder reads bytes from the network: whatever they are, it ends in a
 * value or a GafkaError `invalid_request`, never another exception and never
 * an allocation sized by an unchecked length.
 */
import { describe, expect, test } from "bun:test";
import { GafkaError } from "../../core/errors.ts";
import { DESCRIBED_APIS } from "./apis.ts";
import { decode, decodeRequest, peekRequestHeader } from "./codec.ts";
import { API_VERSIONS } from "./messages/api-versions.ts";
import { FIND_COORDINATOR } from "./messages/find-coordinator.ts";
import { METADATA } from "./messages/metadata.ts";
import { PRODUCE } from "./messages/produce.ts";
import { encode } from "./codec.ts";
import { sampleMessage } from "./sample-value.fixture.ts";
import { type MessageDescription, versionsOf } from "./types.ts";

function invalid(run: () => unknown): GafkaError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GafkaError);
    expect((error as GafkaError).code).toBe("invalid_request");
    return error as GafkaError;
  }
  throw new Error("expected an invalid_request");
}

const bytes = (...values: number[]) => new Uint8Array(values);
const MESSAGES: MessageDescription[] = DESCRIBED_APIS.flatMap((api) => [api.request, api.response]);

describe("truncated input", () => {
  for (const description of MESSAGES) {
    test(`${description.name}: every proper prefix of every version is invalid_request`, () => {
      for (const version of versionsOf(description)) {
        const whole = encode(description, version, sampleMessage(description, version));
        for (let length = 0; length < whole.length; length++) {
          invalid(() => decode(description, version, whole.subarray(0, length)));
        }
      }
    });
  }
});

describe("lengths and counts", () => {
  test("a string length past the end", () => {
    const error = invalid(() => decode(FIND_COORDINATOR.request, 0, bytes(0x7f, 0xff, 0x61)));
    expect(error.message).toContain("needs 32767 bytes, 1 remain");
  });

  test("a null string where the field is not nullable, and lengths below -1", () => {
    expect(invalid(() => decode(FIND_COORDINATOR.request, 0, bytes(0xff, 0xff))).message).toContain("not nullable");
    invalid(() => decode(FIND_COORDINATOR.request, 0, bytes(0xff, 0xfe)));
    // transactionalId is nullable in Produce 3, so -1 is null but -2 is not a length.
    invalid(() => decode(PRODUCE.request, 3, bytes(0xff, 0xfe, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)));
  });

  test("a null array where the array is not nullable (Metadata v0) and allowed where it is (v1)", () => {
    invalid(() => decode(METADATA.request, 0, bytes(0xff, 0xff, 0xff, 0xff)));
    expect(decode(METADATA.request, 1, bytes(0xff, 0xff, 0xff, 0xff))).toMatchObject({ topics: null });
    invalid(() => decode(METADATA.request, 1, bytes(0xff, 0xff, 0xff, 0xfe)));
  });

  test("a huge array count is refused before anything is allocated", () => {
    expect(invalid(() => decode(METADATA.request, 1, bytes(0x7f, 0xff, 0xff, 0xff, 0, 1, 0x61))).message).toContain(
      "array of 2147483647 elements",
    );
    // Compact: 0xffffffff as an unsigned varint is 2^32 - 2 elements.
    const compact = bytes(0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0);
    invalid(() => decode(API_VERSIONS.response, 3, compact));
  });

  test("records and bytes lengths past the end", () => {
    const produce = encode(PRODUCE.request, 3, {
      acks: 1,
      timeoutMs: 1,
      topicData: [{ name: "t", partitionData: [{ index: 0, records: bytes(1, 2, 3) }] }],
    });
    produce[produce.length - 7] = 0x7f; // the records length's high byte: 3 becomes 0x7f000003
    expect(invalid(() => decode(PRODUCE.request, 3, produce)).message).toContain("needs 2130706435 bytes, 3 remain");
  });

  test("an unsigned varint longer than 32 bits", () => {
    const error = invalid(() => decode(API_VERSIONS.request, 3, bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)));
    expect(error.message).toContain("longer than 32 bits");
  });
});

describe("tagged fields", () => {
  const head = [0, 0, 1, 0, 0, 0, 0]; // ApiVersions v3 answer: errorCode, no keys, throttle 0
  test("an unknown tag is skipped", () => {
    expect(decode(API_VERSIONS.response, 3, bytes(...head, 1, 9, 2, 0xaa, 0xbb))).toMatchObject({ errorCode: 0 });
  });

  test("a tagged field's size past the end", () => {
    invalid(() => decode(API_VERSIONS.response, 3, bytes(...head, 1, 9, 5, 0xaa)));
  });

  test("a known tagged field whose value is shorter than its size", () => {
    invalid(() => decode(API_VERSIONS.response, 3, bytes(...head, 1, 3, 2, 1, 0)));
  });

  test("more tagged fields than bytes", () => {
    invalid(() => decode(API_VERSIONS.response, 3, bytes(...head, 0x7f)));
  });
});

describe("other malformed input", () => {
  test("bytes after the message", () => {
    expect(invalid(() => decode(FIND_COORDINATOR.request, 0, bytes(0, 1, 0x61, 0))).message).toContain("1 bytes after");
  });

  test("a string that is not UTF-8", () => {
    expect(invalid(() => decode(FIND_COORDINATOR.request, 0, bytes(0, 1, 0xff))).message).toContain("UTF-8");
  });

  test("a version gafka does not describe", () => {
    invalid(() => decode(PRODUCE.request, 2, bytes()));
    invalid(() => decodeRequest(PRODUCE.request, bytes(0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0)));
  });

  test("a request too short for a header", () => {
    invalid(() => peekRequestHeader(bytes(0, 18, 0, 3)));
  });

  test("random bytes end in a value or invalid_request, for every message and version", () => {
    let state = 0x12345678;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 16;
    };
    for (const description of MESSAGES) {
      for (const version of versionsOf(description)) {
        const valid = encode(description, version, sampleMessage(description, version));
        for (let round = 0; round < 100; round++) {
          // Random noise, and valid bytes with a few flipped: the second reaches deep into the message.
          const noise = Uint8Array.from({ length: random() % 64 }, () => random() & 0xff);
          const flipped = valid.slice();
          for (let flip = 0; flip < 3; flip++) flipped[random() % flipped.length] = random() & 0xff;
          for (const input of [noise, flipped]) {
            try {
              decode(description, version, input);
            } catch (error) {
              if (!(error instanceof GafkaError)) throw error;
              expect(error.code).toBe("invalid_request");
            }
          }
        }
      }
    }
  });
});
