import type { BrokerConfig } from "../../src/broker/config.ts";
import type { RunBrokerConfig } from "../../src/run-broker.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { nodeFileSystem } from "../../src/storage/file-system.ts";

/** A broker configuration for in-process tests: real disk, fsync always, silent, 1 MiB segments and messages. */
export function testBrokerConfig(dataDir: string, overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  return {
    brokerId: 1,
    dataDir,
    fs: nodeFileSystem,
    clock: systemClock,
    logger: silentLogger,
    fsyncPolicy: { kind: "always" },
    segmentBytesMax: 1024 * 1024,
    messageBytesMax: 1024 * 1024,
    ...overrides,
  };
}

/** The same, served on 127.0.0.1 at a free port (runBroker). */
export function testRunConfig(dataDir: string, overrides: Partial<RunBrokerConfig> = {}): RunBrokerConfig {
  return { ...testBrokerConfig(dataDir), host: "127.0.0.1", port: 0, ...overrides };
}
