import { GroupCoordinator } from "../groups/coordinator.ts";
import { startServer } from "../http/server.ts";
import { Broker } from "./broker.ts";
import type { BrokerConfig } from "./config.ts";

export interface RunBrokerConfig extends BrokerConfig {
  /** Interface the HTTP API listens on. */
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface RunningBroker {
  url: string;
  port: number;
  broker: Broker;
  /** The consumer-group coordinator and its committed-offset store (groups.offsets). */
  groups: GroupCoordinator;
  /**
   * Stops accepting connections, wakes long polls, waits for in-flight
   * requests and appends, then closes every log (fsync). Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Opens the broker (loading topics, recovering every log), then serves the
 * HTTP API. Once it is serving, writes exactly one line to stdout,
 * `listening on http://HOST:PORT`, which scripts and test helpers wait for.
 */
export async function runBroker(config: RunBrokerConfig): Promise<RunningBroker> {
  const broker = await Broker.open(config);
  let groups: GroupCoordinator;
  let server: ReturnType<typeof startServer>;
  try {
    groups = GroupCoordinator.open({ broker, dataDir: config.dataDir, fs: config.fs, clock: config.clock, logger: config.logger });
  } catch (error) {
    await broker.close();
    throw error;
  }
  try {
    server = startServer({ broker, groups, host: config.host, port: config.port, logger: config.logger });
  } catch (error) {
    await groups.close();
    await broker.close();
    throw error;
  }
  process.stdout.write(`listening on ${server.url}\n`);
  config.logger.info(`broker ${config.brokerId} serving ${server.url} (data in ${config.dataDir})`);
  let stopping: Promise<void> | undefined;
  const stopOnce = async () => {
    // Stop accepting first; the broker then wakes long polls so the server's
    // in-flight requests finish promptly, and waits for appends before closing logs.
    const serverStopped = server.stop();
    try {
      await groups.close();
      await broker.close();
    } finally {
      await serverStopped;
    }
  };
  return {
    url: server.url,
    port: server.port,
    broker,
    groups,
    stop: () => (stopping ??= stopOnce()),
  };
}
