import type { Socket, TCPSocketListener } from "bun";
import { reserveTestPort } from "../test-ports.ts";

/**
 * A TCP proxy on loopback that delays every byte by `delayMs` in each
 * direction (a slow link; this kernel has no netem) and can cut the link:
 * while cut, nothing passes either way and new connections hang, as on a
 * link that is down; bytes sent meanwhile are held and delivered on heal,
 * as TCP retransmission would deliver them once the link is back. So a cut
 * shorter than the peers' own timeouts loses nothing in flight, and a longer
 * one looks to them like silence, never like a refused connection.
 */
export interface DelayProxy {
  /** `127.0.0.1:PORT` to give a peer instead of the target's address. */
  readonly hostPort: string;
  readonly port: number;
  setDelayMs(delayMs: number): void;
  cut(): void;
  heal(): void;
  readonly isCut: boolean;
  /** Closes the listener and every connection. */
  close(): void;
}

interface Pending {
  releaseAtMs: number;
  bytes: Uint8Array;
}

/** One direction of one connection: bytes in order, each with the time it may leave. */
class Lane {
  queue: Pending[] = [];
  lastReleaseAtMs = 0;
  ended = false;
  out: Socket<any> | undefined;
  onEnded: () => void = () => {};
}

export async function startDelayProxy(options: { targetHost: string; targetPort: number; delayMs?: number }): Promise<DelayProxy> {
  let delayMs = options.delayMs ?? 0;
  let isCut = false;
  const connections = new Set<{ up: Lane; down: Lane; client: Socket<any>; upstream?: Socket<any> }>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const pump = () => {
    timer = undefined;
    if (isCut) return;
    const now = performance.now();
    let nextAtMs = Number.POSITIVE_INFINITY;
    for (const connection of connections) {
      for (const lane of [connection.up, connection.down]) {
        flushLane(lane, now);
        if (lane.queue.length > 0) nextAtMs = Math.min(nextAtMs, lane.queue[0]!.releaseAtMs);
      }
    }
    if (nextAtMs !== Number.POSITIVE_INFINITY) schedule(nextAtMs - now);
  };
  const schedule = (inMs: number) => {
    if (timer !== undefined || isCut) return;
    timer = setTimeout(pump, Math.max(0, inMs));
  };

  const flushLane = (lane: Lane, now: number) => {
    if (lane.out === undefined) return;
    while (lane.queue.length > 0 && lane.queue[0]!.releaseAtMs <= now) {
      const head = lane.queue[0]!;
      const written = lane.out.write(head.bytes);
      if (written < head.bytes.length) {
        head.bytes = head.bytes.subarray(Math.max(0, written)); // the rest goes on drain
        return;
      }
      lane.queue.shift();
    }
    if (lane.queue.length === 0 && lane.ended) lane.onEnded();
  };

  const enqueue = (lane: Lane, bytes: Uint8Array) => {
    const releaseAtMs = Math.max(performance.now() + delayMs, lane.lastReleaseAtMs);
    lane.lastReleaseAtMs = releaseAtMs;
    lane.queue.push({ releaseAtMs, bytes: new Uint8Array(bytes) });
    schedule(releaseAtMs - performance.now());
  };

  const port = await reserveTestPort();
  const listener: TCPSocketListener<any> = Bun.listen<any>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(client) {
        const connection = { up: new Lane(), down: new Lane(), client, upstream: undefined as Socket<any> | undefined };
        connection.down.out = client;
        const closeBoth = () => {
          connections.delete(connection);
          client.end();
          connection.upstream?.end();
        };
        connection.up.onEnded = closeBoth;
        connection.down.onEnded = closeBoth;
        client.data = connection;
        connections.add(connection);
        Bun.connect<any>({
          hostname: options.targetHost,
          port: options.targetPort,
          socket: {
            data(_upstream, bytes) {
              enqueue(connection.down, bytes);
            },
            drain() {
              if (!isCut) flushLane(connection.up, performance.now());
            },
            close() {
              connection.down.ended = true;
              schedule(0);
            },
            error() {
              connection.down.ended = true;
              schedule(0);
            },
          },
        }).then(
          (upstream) => {
            connection.upstream = upstream;
            connection.up.out = upstream;
            schedule(0);
          },
          () => closeBoth(),
        );
      },
      data(client, bytes) {
        enqueue(client.data.up, bytes);
      },
      drain(client) {
        if (!isCut) flushLane(client.data.down, performance.now());
      },
      close(client) {
        client.data.up.ended = true;
        schedule(0);
      },
      error(client) {
        client.data.up.ended = true;
        schedule(0);
      },
    },
  });

  return {
    hostPort: `127.0.0.1:${port}`,
    port,
    setDelayMs(ms) {
      delayMs = ms;
    },
    cut() {
      isCut = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    heal() {
      isCut = false;
      schedule(0);
    },
    get isCut() {
      return isCut;
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      listener.stop(true);
      for (const connection of connections) {
        connection.client.terminate();
        connection.upstream?.terminate();
      }
      connections.clear();
    },
  };
}
