import { expect, test } from "bun:test";
import * as path from "node:path";
import { DataDirText } from "./data-dir-text.ts";

test("paths under an absolute data dir become relative; the data dir itself is named, not shown", () => {
  const text = new DataDirText("/srv/gafka/data/");
  expect(text.relative("corrupt frame at position 12 of /srv/gafka/data/orders-3/00000000000000004096.log (offset 4100)")).toBe(
    "corrupt frame at position 12 of orders-3/00000000000000004096.log (offset 4100)",
  );
  expect(text.relative("open '/srv/gafka/data/topics.json' failed; /srv/gafka/data/a-0 too")).toBe("open 'topics.json' failed; a-0 too");
  expect(text.relative("cannot lock /srv/gafka/data: busy")).toBe("cannot lock <data dir>: busy");
  // A longer path that merely starts the same way is not under the data dir.
  expect(text.relative("/srv/gafka/data2/x and /srv/gafka/database")).toBe("/srv/gafka/data2/x and /srv/gafka/database");
});

test("a relative data dir is recognised in both spellings, and never as a word or the tail of another path", () => {
  const text = new DataDirText("./data");
  const absolute = path.resolve("data");
  expect(text.relative(`${absolute}/t-0/x.log and data/t-1/y.log`)).toBe("t-0/x.log and t-1/y.log");
  expect(text.relative("no data yet; see metadata/data/z and /data/q")).toBe("no data yet; see metadata/data/z and /data/q");
});

test("details are copied with every string made relative; other values pass through", () => {
  const text = new DataDirText("/d");
  const details = { file: "/d/t-0/0.log", position: 7, results: [{ error: { message: "at /d/t-1/1.log" } }, null] };
  expect(text.relativeDeep(details)).toEqual({ file: "t-0/0.log", position: 7, results: [{ error: { message: "at t-1/1.log" } }, null] });
  expect(details.file).toBe("/d/t-0/0.log");
  expect(new DataDirText(".").relative("./x and /y")).toBe("./x and /y");
  expect(new DataDirText("/").relative("/x")).toBe("/x");
});
