/**
 * Opening a listening socket (the HTTP server, the Kafka listener) with a
 * failure a person can act on.
 */
import { systemErrorCode } from "./errors.ts";

/**
 * Runs `listen`, turning a failure into one line naming the address and the
 * reason ("cannot listen on 127.0.0.1:9001: address in use"): Bun's own
 * message for a taken port names neither the host nor the cause plainly.
 */
export function listenOrExplain<T>(host: string, port: number, listen: () => T): T {
  try {
    return listen();
  } catch (error) {
    const code = systemErrorCode(error);
    const reason = code === undefined ? undefined : LISTEN_FAILURES[code];
    if (reason === undefined) throw error;
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    throw new Error(`cannot listen on ${address}: ${reason}`, { cause: error });
  }
}

const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: "address in use (is another broker running on this port?)",
  EADDRNOTAVAIL: "address not available (no interface of this machine has it)",
  EACCES: "permission denied (ports below 1024 need privileges)",
};
