import * as dgram from "node:dgram";
import { readFileSync } from "node:fs";

/**
 * Ports for test brokers, so that a test broker is never reached by another
 * test's broker. With port 0 the kernel picks from its ephemeral range, and a
 * broker a test kills and restarts on the same port may find that port taken
 * meanwhile by another test's broker (or used as a client connection's source
 * port); a follower or client still aimed at it then reaches the wrong broker.
 * A port handed out here instead:
 * - lies below the kernel's ephemeral range, so the kernel never picks it for
 *   port 0 or for an outgoing connection;
 * - is held for the rest of this process by a UDP socket bound to the same
 *   number on the loopback address: a broker can still listen on it (TCP and
 *   UDP ports are apart), but no other test run on this machine can take it,
 *   and the kernel frees it when this process ends, however it ends;
 * - was free for TCP when handed out (checked by binding it);
 * - is never handed out twice in one run (the UDP hold sees to that too).
 */

const HOST = "127.0.0.1";
/** Below this are ports services commonly claim. */
const PORT_FLOOR = 10_000;

/** The holds, kept referenced for the life of the process. */
const held: dgram.Socket[] = [];
const [rangeStart, rangeEnd] = portRange();
/** Starts at a random point so that concurrent runs seldom even try the same ports. */
let nextPort = rangeStart + Math.floor(Math.random() * (rangeEnd - rangeStart));

/** A loopback port no other broker of this run or of another test run will be given. */
export async function reserveTestPort(): Promise<number> {
  const rangeSize = rangeEnd - rangeStart;
  for (let tried = 0; tried < rangeSize; tried++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= rangeEnd ? rangeStart : nextPort + 1;
    const hold = await holdUdp(port);
    if (hold === undefined) continue;
    if (!tcpFree(port)) {
      hold.close();
      continue;
    }
    hold.unref(); // the hold must not keep the test process alive
    held.push(hold);
    return port;
  }
  throw new Error(`no free port left in ${rangeStart}-${rangeEnd - 1}`);
}

/** [start, end) of the ports handed out: from PORT_FLOOR up to the kernel's ephemeral range. */
function portRange(): [number, number] {
  let ephemeralStart = 32_768; // Linux's default when the range cannot be read
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    if (Number.isSafeInteger(Number(low))) ephemeralStart = Number(low);
  } catch {
    // not Linux: keep the default
  }
  if (ephemeralStart - PORT_FLOOR < 1000) throw new Error(`the ephemeral port range starts at ${ephemeralStart}; tests need free ports below it`);
  return [PORT_FLOOR, ephemeralStart];
}

function holdUdp(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, HOST, () => resolve(socket));
  });
}

function tcpFree(port: number): boolean {
  try {
    Bun.listen({ hostname: HOST, port, exclusive: true, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}
