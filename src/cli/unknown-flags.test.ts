import { describe, expect, spyOn, test } from "bun:test";
import type { ArgsDef } from "citty";
import { runGafka } from "../main.ts";
import { unknownFlags } from "./unknown-flags.ts";

const args = {
  topic: { type: "string", required: true },
  "batch-size": { type: "string" },
  quiet: { type: "boolean" },
  acks: { type: "string", alias: ["a"] },
  name: { type: "positional" },
} as const satisfies ArgsDef;

describe("unknownFlags", () => {
  test("names each flag the command does not define", () => {
    expect(unknownFlags(args, ["--topic", "t", "--value", "x", "--quite"])).toEqual(["--value", "--quite"]);
    expect(unknownFlags(args, ["--topik=t"])).toEqual(["--topik"]);
  });

  test("accepts both spellings, aliases, negated booleans and '=' values", () => {
    expect(unknownFlags(args, ["--topic=t", "--batch-size", "5", "--batchSize", "6", "-a", "1", "--no-quiet", "--quiet"])).toEqual([]);
  });

  test("a value flag's next token is its value, even when it starts with '-'", () => {
    expect(unknownFlags(args, ["--acks", "-1", "--topic", "--weird"])).toEqual([]);
    // A boolean takes no value: what follows is checked as a flag of its own.
    expect(unknownFlags(args, ["--quiet", "-x"])).toEqual(["-x"]);
  });

  test("positionals, a lone '-' and everything after '--' are left alone", () => {
    expect(unknownFlags(args, ["create", "-", "--topic", "t", "--", "--anything", "-z"])).toEqual([]);
  });
});

describe("gafka with an unknown flag", () => {
  test("refuses to run, names the flag and shows the usage", async () => {
    const errors: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((...parts: unknown[]) => void errors.push(parts.join(" ")));
    try {
      // The broker address is unreachable on purpose: the command must stop before it tries.
      const code = await runGafka(["produce", "--topic", "t", "--value", "hello", "--broker", "127.0.0.1:1"]);
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors.at(-1)).toBe("error: unknown option --value");
    expect(errors.join("\n")).toContain("--message");
    expect(errors.join("\n")).not.toContain("cannot reach broker");
  });

  test("a subcommand's known flags still run it (the error is the broker's, not the flags')", async () => {
    const errors: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((...parts: unknown[]) => void errors.push(parts.join(" ")));
    try {
      const code = await runGafka(["admin", "create-topic", "--name", "t", "--partitions", "2", "--broker", "127.0.0.1:1"]);
      expect(code).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(errors.at(-1)).toContain("cannot reach broker");
  });
});
