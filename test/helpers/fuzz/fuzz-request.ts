/** One request the fuzz harness sends, exactly as it goes on the wire (head and body). */
export interface FuzzRequest {
  /** Which broker receives it. */
  target: "leader" | "follower";
  method: string;
  /** The request target as sent: path and query, %-encoded where HTTP requires it. */
  path: string;
  headers: [name: string, value: string][];
  body?: Uint8Array;
  /** How it was made, for the report: "mutated POST /api/v1/produce", "random", ... */
  origin: string;
}

/** A request as a failure report prints it: method, target, headers and the first bytes of the body. */
export function describeRequest(request: FuzzRequest, bodyPrefixBytes = 300): string {
  const headers = request.headers.map(([name, value]) => `  ${name}: ${value.slice(0, 200)}`).join("\n");
  const body = request.body === undefined ? "(no body)" : `${request.body.length} bytes: ${JSON.stringify(new TextDecoder().decode(request.body.subarray(0, bodyPrefixBytes)))}`;
  return `${request.method} ${request.path.slice(0, 500)} (to the ${request.target}; ${request.origin})\n${headers}\n  body ${body}`;
}
