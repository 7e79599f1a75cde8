/** Plain HTTP calls for end-to-end suites: the wire, not the SDK. */

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

export interface WireRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

/** Reads a partition from `offset` to its high watermark, in pages. */
export async function readPartition(baseUrl: string, topic: string, partition: number, offset = 0): Promise<WireRecord[]> {
  const records: WireRecord[] = [];
  let next = offset;
  for (;;) {
    const { status, body } = await getJson(
      `${baseUrl}/api/v1/consume?topic=${topic}&partition=${partition}&offset=${next}&count=10000&timeout=0`,
    );
    if (status !== 200) throw new Error(`consume answered ${status}: ${JSON.stringify(body)}`);
    records.push(...body.records);
    next = body.next_offset;
    if (body.records.length === 0 || next >= body.high_watermark) return records;
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}
