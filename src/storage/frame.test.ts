import { expect, test } from "bun:test";
import { AssertionError } from "../core/assert.ts";
import { assertFramesWhole, encodeBatchFrame, encodeFrame, FRAME_HEADER_BYTES, frameChecksum, readFrameHeader } from "./frame.ts";
import { decodeRecordBatch, encodeRecordBatch, setBaseOffset } from "../protocol/record-batch.ts";

const encoder = new TextEncoder();

const records = Array.from({ length: 5 }, (_, i) => ({
  key: i === 0 ? null : encoder.encode(`key-${i}`),
  value: encoder.encode(`value-${i}`.repeat(20 * i + 1)),
  headers: [{ key: "trace", value: encoder.encode(`t${i}`) }],
  timestampMs: 1_764_000_000_000 + i,
}));

test("a batch encoded in place in its frame is byte for byte the batch framed by copy", () => {
  const options = { baseOffset: 4_096, partitionLeaderEpoch: 3, records };
  const inPlace = encodeBatchFrame(options);
  expect(inPlace).toEqual(encodeFrame(encodeRecordBatch(options)));
  const header = readFrameHeader(inPlace, 0);
  expect(header.batchBytes).toBe(inPlace.length - FRAME_HEADER_BYTES);
  const batch = inPlace.subarray(FRAME_HEADER_BYTES);
  expect(header.checksum).toBe(frameChecksum(batch));
  const decoded = decodeRecordBatch(batch);
  expect(decoded.header.baseOffset).toBe(4_096);
  expect(decoded.header.partitionLeaderEpoch).toBe(3);
  expect(decoded.records.map((r) => r.offset)).toEqual([4_096, 4_097, 4_098, 4_099, 4_100]);
});

test("prefixBytes leaves free room before the batch and the batch's CRC-32C still holds after setBaseOffset", () => {
  const withRoom = encodeRecordBatch({ baseOffset: 0, records, prefixBytes: 13 });
  const plain = encodeRecordBatch({ baseOffset: 0, records });
  expect(withRoom.length).toBe(plain.length + 13);
  expect(withRoom.subarray(0, 13)).toEqual(new Uint8Array(13));
  expect(withRoom.subarray(13)).toEqual(plain);
  const batch = withRoom.subarray(13).slice();
  setBaseOffset(batch, 77);
  expect(decodeRecordBatch(batch).records[0]!.offset).toBe(77);
});

test("frames are checked just before they are written: a batch changed after framing is an AssertionError", () => {
  const frame = encodeBatchFrame({ baseOffset: 0, partitionLeaderEpoch: 0, records });
  const other = encodeFrame(encodeRecordBatch({ baseOffset: 5, partitionLeaderEpoch: 0, records }));
  const header = frame.slice(0, FRAME_HEADER_BYTES);
  const batch = frame.slice(FRAME_HEADER_BYTES);
  // Whole frames in one chunk, several frames in one chunk, and a header chunk followed by its batch all pass.
  assertFramesWhole([frame], frame.length);
  assertFramesWhole([Buffer.concat([frame, other])], frame.length + other.length);
  assertFramesWhole([header, batch, other], frame.length + other.length);
  expect(() => assertFramesWhole([frame], frame.length + 1)).toThrow(AssertionError);
  const changed = batch.slice();
  changed[changed.length - 1]! ^= 0xff;
  expect(() => assertFramesWhole([header, changed], frame.length)).toThrow(AssertionError);
  expect(() => assertFramesWhole([frame.subarray(0, frame.length - 1)], frame.length - 1)).toThrow(AssertionError);
});
