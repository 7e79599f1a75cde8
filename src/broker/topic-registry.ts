import * as path from "node:path";
import { GafkaError, invalidRequest, storageError, topicNotFound } from "../core/errors.ts";
import { limits, topicNameProblem } from "../core/limits.ts";
import type { FileSystem } from "../storage/file-system.ts";
import { checkTopicConfigs, type TopicConfigOverrides } from "./topic-config.ts";

/** What the broker knows about a topic apart from its logs. */
export interface TopicMetadata {
  readonly name: string;
  readonly partitionCount: number;
  /** Wall-clock ms since the epoch when the topic was created. */
  readonly createdAtMs: number;
  /** What was set on the topic (src/broker/topic-config.ts); empty: every setting is the broker's default. */
  readonly configs: TopicConfigOverrides;
}

export const TOPICS_FILE_NAME = "topics.json";
const TOPICS_FILE_VERSION = 1;

/**
 * `<dataDir>/<topic>-<partition>/`, Kafka's layout. The name is unambiguous:
 * topic names are [A-Za-z0-9._-], so "a-1" is partition 1 of "a" and never a
 * directory of topic "a-1" (whose partitions are "a-1-0", "a-1-1", ...).
 */
export function partitionDirectory(dataDir: string, topic: string, partition: number): string {
  return path.join(dataDir, `${topic}-${partition}`);
}

/** Checks a requested partition count; throws invalid_request (400) when it is not 1..partitionsPerTopicMax. */
export function checkPartitionCount(count: unknown): number {
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > limits.partitionsPerTopicMax) {
    throw invalidRequest(`partitions must be an integer from 1 to ${limits.partitionsPerTopicMax}`, {
      field: "partitions",
    });
  }
  return count;
}

/** Throws invalid_request (400) with the reason when the name is not a valid topic name. */
export function checkTopicName(name: unknown): string {
  const problem = topicNameProblem(name);
  if (problem !== undefined) throw invalidRequest(problem, { field: "name" });
  return name as string;
}

/**
 * The topic metadata, persisted in `<dataDir>/topics.json`, the source of
 * truth for which topics exist (partition directories without an entry are
 * leftovers of an interrupted create or delete). The file is JSON:
 *
 *   {"version": 1,
 *    "topics": [{"name": "test-topic", "partitions": 2, "created_at": 1764000000000,
 *                "configs": {"retention.ms": "3600000"}}]}
 *
 * topics sorted by name; `configs` holds the topic's overrides with Kafka's
 * names and string values, and is left out when there are none (a file
 * written before topics had configurations has none: every setting is the
 * broker's default). It is rewritten whole through
 * FileSystem.writeFileAtomic (temp file, fsync, rename, fsync of the
 * directory): when create() or delete() resolves, the change is on stable
 * storage (alterConfigs() too); after a crash the file holds either the old or the new list, never
 * a mix. Changes are applied one at a time, in call order.
 */
export class TopicRegistry {
  private readonly topics: Map<string, TopicMetadata>;
  private changeQueue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly filePath: string,
    private readonly fs: FileSystem,
    topics: TopicMetadata[],
  ) {
    this.topics = new Map(topics.map((topic) => [topic.name, topic]));
  }

  /** Reads `<dataDir>/topics.json` (none yet means no topics); throws when the file is damaged. */
  static load(dataDir: string, fs: FileSystem): TopicRegistry {
    const filePath = path.join(dataDir, TOPICS_FILE_NAME);
    if (!fs.exists(filePath)) return new TopicRegistry(filePath, fs, []);
    return new TopicRegistry(filePath, fs, parseTopicsFile(filePath, fs.readFile(filePath)));
  }

  get(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  /** All topics, sorted by name. */
  list(): TopicMetadata[] {
    return [...this.topics.values()].sort(compareByName);
  }

  /**
   * Adds a topic and makes it durable. Throws invalid_request (bad name or
   * partition count), topic_exists, or storage_full / storage_failed when the
   * file cannot be written (then the topic does not exist).
   */
  async create(name: string, partitionCount: number, createdAtMs: number, configs: TopicConfigOverrides = {}): Promise<TopicMetadata> {
    checkTopicName(name);
    checkPartitionCount(partitionCount);
    return this.enqueue(async () => {
      if (this.topics.has(name)) throw topicExists(name);
      const topic: TopicMetadata = { name, partitionCount, createdAtMs, configs };
      await this.persist([...this.topics.values(), topic]);
      this.topics.set(name, topic);
      return topic;
    });
  }

  /** Removes a topic durably; throws topic_not_found, or storage_* (then the topic still exists). */
  delete(name: string): Promise<TopicMetadata> {
    return this.enqueue(async () => {
      const topic = this.topics.get(name);
      if (topic === undefined) throw topicNotFound(name);
      await this.persist([...this.topics.values()].filter((other) => other.name !== name));
      this.topics.delete(name);
      return topic;
    });
  }

  /**
   * Replaces a topic's overrides and makes it durable as create() does: when
   * it resolves the new settings survive a crash; when it throws
   * (topic_not_found, storage_*) the topic keeps its old ones.
   */
  alterConfigs(name: string, configs: TopicConfigOverrides): Promise<TopicMetadata> {
    return this.enqueue(async () => {
      const current = this.topics.get(name);
      if (current === undefined) throw topicNotFound(name);
      const topic: TopicMetadata = { ...current, configs };
      await this.persist([...this.topics.values()].map((other) => (other.name === name ? topic : other)));
      this.topics.set(name, topic);
      return topic;
    });
  }

  private enqueue<T>(change: () => Promise<T>): Promise<T> {
    const result = this.changeQueue.then(change);
    this.changeQueue = result.then(ignore, ignore);
    return result;
  }

  private async persist(topics: TopicMetadata[]): Promise<void> {
    const file = {
      version: TOPICS_FILE_VERSION,
      topics: topics
        .sort(compareByName)
        .map((topic) => ({
          name: topic.name,
          partitions: topic.partitionCount,
          created_at: topic.createdAtMs,
          ...(Object.keys(topic.configs).length === 0 ? {} : { configs: sortedConfigs(topic.configs) }),
        })),
    };
    try {
      await this.fs.writeFileAtomic(this.filePath, new TextEncoder().encode(`${JSON.stringify(file, null, 2)}\n`));
    } catch (error) {
      throw storageError(`could not write ${this.filePath}`, error);
    }
  }
}

export function topicExists(name: string): GafkaError {
  return new GafkaError("topic_exists", `topic '${name}' already exists`, { details: { topic: name } });
}

function parseTopicsFile(filePath: string, bytes: Uint8Array): TopicMetadata[] {
  const damaged = (reason: string) => new Error(`${filePath} is damaged: ${reason}`);
  let file: unknown;
  try {
    file = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw damaged(error instanceof Error ? error.message : String(error));
  }
  if (typeof file !== "object" || file === null) throw damaged("not a JSON object");
  const { version, topics } = file as { version?: unknown; topics?: unknown };
  if (version !== TOPICS_FILE_VERSION) throw damaged(`unknown version ${JSON.stringify(version)}`);
  if (!Array.isArray(topics)) throw damaged("'topics' is not an array");
  const seen = new Set<string>();
  return topics.map((entry: unknown, index) => {
    const { name, partitions, created_at, configs } = (entry ?? {}) as Record<string, unknown>;
    const problem = topicNameProblem(name, limits.storedTopicNameLengthMax);
    if (problem !== undefined) throw damaged(`topics[${index}]: ${problem}`);
    if (seen.has(name as string)) throw damaged(`topic '${name}' is listed twice`);
    seen.add(name as string);
    if (
      typeof partitions !== "number" ||
      !Number.isInteger(partitions) ||
      partitions < 1 ||
      partitions > limits.partitionsPerTopicMax
    ) {
      throw damaged(`topics[${index}]: bad partition count ${JSON.stringify(partitions)}`);
    }
    if (typeof created_at !== "number" || !Number.isFinite(created_at)) {
      throw damaged(`topics[${index}]: bad created_at ${JSON.stringify(created_at)}`);
    }
    let checkedConfigs: TopicConfigOverrides;
    try {
      checkedConfigs = checkTopicConfigs(configs);
    } catch (error) {
      throw damaged(`topics[${index}]: bad configs: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { name: name as string, partitionCount: partitions, createdAtMs: created_at, configs: checkedConfigs };
  });
}

/** Overrides by name, so the file reads the same whatever order they were set in. */
function sortedConfigs(configs: TopicConfigOverrides): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(configs).sort()) sorted[name] = configs[name as keyof TopicConfigOverrides]!;
  return sorted;
}

function compareByName(a: TopicMetadata, b: TopicMetadata): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function ignore(): void {}
