/**
 * The Kafka door's durable ceiling: the least any broker must do to acknowledge a Kafka produce
 * durably, with none of gafka's broker code on the produce path, so that K1 and K2
 * (bench/kafka-door.ts) can be read against what this machine allows with the same client.
 *
 * A TCP server (Bun.listen) that frames requests as gafka's door does (FrameReader: one copy
 * each) and, for each Produce request (v3–8, hand-parsed): appends each partition's records as
 * they came to that partition's file and waits for an fdatasync begun after its write
 * (bench/group-commit-file.ts: one fdatasync per file at a time, the appends arriving meanwhile
 * written together before the next, which they share), and answers with the base offsets,
 * in request order per connection (the answers ready together in one write). No checksum is
 * checked, no index kept, no record looked at beyond the batches' record counts. ApiVersions and Metadata (a client's first requests, off the hot path)
 * are answered through gafka's codec: this server alone, leading every partition of the topics
 * named on the command line.
 *
 *   bun bench/kafka-durable-ceiling.ts --port=19292 --dir=/tmp/ceiling --topic=k2:2 [--topic=...] [--fsync=never]
 * then point a client at 127.0.0.1:PORT (e.g. the kcat commands of bench/kafka-door.ts).
 * `--fsync=never` answers once the records are written, without fdatasync: what the client and
 * the server's framing, parsing and writes cost alone.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import * as path from "node:path";
import type { Socket } from "bun";
import { FrameReader } from "../src/kafka/frame-reader.ts";
import { encodeResponse } from "../src/kafka/protocol/codec.ts";
import { API_VERSIONS } from "../src/kafka/protocol/messages/api-versions.ts";
import { METADATA } from "../src/kafka/protocol/messages/metadata.ts";
import { option } from "./ceiling-process.ts";
import { GroupCommitFile } from "./group-commit-file.ts";

const topics = new Map(
  process.argv
    .slice(2)
    .filter((arg) => arg.startsWith("--topic="))
    .map((arg) => {
      const [name, count = "1"] = arg.slice("--topic=".length).split(":") as [string, string];
      return [name, Number(count)] as const;
    }),
);
const port = Number(option("port", "19292"));
const dir = option("dir", "/tmp/gafka-kafka-ceiling");
const fsync = option("fsync", "always") !== "never";
mkdirSync(dir, { recursive: true });

/** One partition's file (appended with group commit) and the offset its next record takes. */
interface PartitionFile {
  readonly file: GroupCommitFile;
  readonly fd: number;
  nextOffset: number;
}

const files = new Map<string, PartitionFile>();
function fileOf(topic: string, partition: number): PartitionFile {
  const key = `${topic}-${partition}`;
  let file = files.get(key);
  if (file === undefined) {
    const fd = openSync(path.join(dir, `${key}.log`), "a");
    file = { file: new GroupCommitFile(fd, fsync), fd, nextOffset: 0 };
    files.set(key, file);
  }
  return file;
}

/** Records in a run of RecordBatch v2 batches: each batch's lastOffsetDelta + 1. */
function recordCount(records: Uint8Array): number {
  const view = new DataView(records.buffer, records.byteOffset, records.length);
  let count = 0;
  for (let position = 0; position + 61 <= records.length; position += 12 + view.getInt32(position + 8)) count += view.getInt32(position + 23) + 1;
  return count;
}

const decoder = new TextDecoder();

/** Produce v3–8 by hand: appends each partition's records, answers once all are durable. */
async function produce(request: Uint8Array, version: number, correlationId: number): Promise<Uint8Array> {
  const view = new DataView(request.buffer, request.byteOffset, request.length);
  let position = 8;
  const clientIdLength = view.getInt16(position);
  position += 2 + Math.max(clientIdLength, 0);
  const transactionalIdLength = view.getInt16(position);
  position += 2 + Math.max(transactionalIdLength, 0) + 2 + 4; // transactional id, acks, timeout
  const answers: { name: Uint8Array; partitions: { index: number; baseOffset: number }[] }[] = [];
  const durable: Promise<void>[] = [];
  const topicCount = view.getInt32(position);
  position += 4;
  for (let t = 0; t < topicCount; t++) {
    const nameLength = view.getInt16(position);
    const name = request.subarray(position + 2, position + 2 + nameLength);
    position += 2 + nameLength;
    const topic = decoder.decode(name);
    const partitions: { index: number; baseOffset: number }[] = [];
    const partitionCount = view.getInt32(position);
    position += 4;
    for (let p = 0; p < partitionCount; p++) {
      const index = view.getInt32(position);
      const length = view.getInt32(position + 4);
      position += 8;
      const records = request.subarray(position, position + Math.max(length, 0));
      position += Math.max(length, 0);
      const file = fileOf(topic, index);
      partitions.push({ index, baseOffset: file.nextOffset });
      file.nextOffset += recordCount(records);
      durable.push(file.file.append(records));
    }
    answers.push({ name, partitions });
  }
  await Promise.all(durable);
  const partitionBytes = 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + (version >= 8 ? 4 + 2 : 0);
  let size = 4 + 4 + 4; // size prefix, correlation id, topics count
  for (const answer of answers) size += 2 + answer.name.length + 4 + answer.partitions.length * partitionBytes;
  size += 4; // throttle time
  const bytes = new Uint8Array(size);
  const out = new DataView(bytes.buffer);
  out.setInt32(0, size - 4);
  out.setInt32(4, correlationId);
  out.setInt32(8, answers.length);
  let at = 12;
  for (const answer of answers) {
    out.setInt16(at, answer.name.length);
    bytes.set(answer.name, at + 2);
    at += 2 + answer.name.length;
    out.setInt32(at, answer.partitions.length);
    at += 4;
    for (const partition of answer.partitions) {
      out.setInt32(at, partition.index);
      out.setInt16(at + 4, 0);
      out.setBigInt64(at + 6, BigInt(partition.baseOffset));
      out.setBigInt64(at + 14, -1n);
      at += 22;
      if (version >= 5) {
        out.setBigInt64(at, 0n);
        at += 8;
      }
      if (version >= 8) {
        out.setInt32(at, 0);
        out.setInt16(at + 4, -1);
        at += 6;
      }
    }
  }
  out.setInt32(at, 0);
  return bytes;
}

function withPrefix(body: Uint8Array): Uint8Array {
  new DataView(body.buffer, body.byteOffset, 4).setInt32(0, body.length - 4);
  return body;
}

/** ApiVersions and Metadata through gafka's codec: a client's first requests, off the hot path. */
function answerOther(request: Uint8Array, apiKey: number, version: number, correlationId: number): Uint8Array | undefined {
  if (apiKey === API_VERSIONS.apiKey) {
    const apiKeys = [
      { apiKey: 0, minVersion: 3, maxVersion: 8 },
      { apiKey: 3, minVersion: 0, maxVersion: 8 },
      { apiKey: 18, minVersion: 0, maxVersion: 3 },
    ];
    return withPrefix(encodeResponse(API_VERSIONS.response, Math.min(version, 3), correlationId, { errorCode: version > 3 ? 35 : 0, apiKeys, throttleTimeMs: 0 }, 4));
  }
  if (apiKey === METADATA.apiKey) {
    const topicAnswers = [...topics].map(([name, count]) => ({
      errorCode: 0,
      name,
      isInternal: false,
      partitions: Array.from({ length: count }, (_, index) => ({ errorCode: 0, partitionIndex: index, leaderId: 1, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] })),
    }));
    const body = { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: "127.0.0.1", port, rack: null }], clusterId: "ceiling", controllerId: 1, topics: topicAnswers };
    return withPrefix(encodeResponse(METADATA.response, version, correlationId, body, 4));
  }
  void request;
  return undefined;
}

interface Connection {
  /** Frames the byte stream (gafka's: each request copied once, into a buffer of its size). */
  reader: FrameReader;
  /** Answers in request order; a slot fills when its request is done. */
  slots: { answer: Uint8Array | undefined }[];
}

/** Writes the answers ready at the head of the queue, in one write. */
function flush(socket: Socket<Connection>): void {
  const { slots } = socket.data;
  const ready: Uint8Array[] = [];
  while (slots.length > 0 && slots[0]!.answer !== undefined) ready.push(slots.shift()!.answer!);
  if (ready.length === 0) return;
  if (ready.length === 1) {
    socket.write(ready[0]!);
    return;
  }
  const joined = new Uint8Array(ready.reduce((sum, answer) => sum + answer.length, 0));
  let at = 0;
  for (const answer of ready) {
    joined.set(answer, at);
    at += answer.length;
  }
  socket.write(joined);
}

function handle(socket: Socket<Connection>, request: Uint8Array): void {
  const view = new DataView(request.buffer, request.byteOffset, request.length);
  const apiKey = view.getInt16(0);
  const version = view.getInt16(2);
  const correlationId = view.getInt32(4);
  const slot: { answer: Uint8Array | undefined } = { answer: undefined };
  socket.data.slots.push(slot);
  if (apiKey === 0) {
    void produce(request, version, correlationId).then((answer) => {
      slot.answer = answer;
      flush(socket);
    });
    return;
  }
  const answer = answerOther(request, apiKey, version, correlationId);
  if (answer === undefined) {
    socket.end();
    return;
  }
  slot.answer = answer;
  flush(socket);
}

Bun.listen<Connection>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { reader: new FrameReader(100 * 1024 * 1024), slots: [] };
    },
    data(socket, chunk) {
      const frames = socket.data.reader.push(chunk);
      if (frames === "oversize") {
        socket.end();
        return;
      }
      for (const frame of frames) handle(socket, frame);
    },
  },
});
process.stdout.write(`kafka durable ceiling listening on 127.0.0.1:${port}\n`);
process.on("SIGTERM", () => {
  for (const file of files.values()) closeSync(file.fd);
  process.exit(0);
});
