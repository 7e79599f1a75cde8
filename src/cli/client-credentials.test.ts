import { afterEach, beforeEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { readNewPassword } from "./new-password.ts";
import { clientAuthArg } from "./shared-args.ts";

let temp: { dir: string; remove: () => void };
beforeEach(() => {
  temp = makeTempDir("gafka-cli-credentials-");
});
afterEach(() => temp.remove());

function file(name: string, text: string): string {
  const filePath = path.join(temp.dir, name);
  fs.writeFileSync(filePath, text);
  return filePath;
}

const broker = "127.0.0.1:9001";

test("--user takes its password from --password-file (one trailing newline dropped), else env GAFKA_PASSWORD", () => {
  expect(clientAuthArg({ broker, user: "alice", "password-file": file("p", "s3cret pass\n") }, {})).toEqual({ user: "alice", password: "s3cret pass" });
  expect(clientAuthArg({ broker, user: "alice", "password-file": file("p2", "two\n\n") }, {})).toEqual({ user: "alice", password: "two\n" });
  expect(clientAuthArg({ broker, user: "alice" }, { GAFKA_PASSWORD: "from-env" })).toEqual({ user: "alice", password: "from-env" });
  // The flag wins over a token in the environment.
  expect(clientAuthArg({ broker, user: "alice" }, { GAFKA_PASSWORD: "p", GAFKA_TOKEN: "t" })).toEqual({ user: "alice", password: "p" });
});

test("--token-file, else env GAFKA_TOKEN; nothing at all is anonymous", () => {
  expect(clientAuthArg({ broker, "token-file": file("t", "gafka_x\n") }, {})).toEqual({ token: "gafka_x" });
  expect(clientAuthArg({ broker }, { GAFKA_TOKEN: "gafka_y" })).toEqual({ token: "gafka_y" });
  expect(clientAuthArg({ broker }, {})).toBeUndefined();
  expect(clientAuthArg({ broker }, { GAFKA_PASSWORD: "alone it names no user" })).toBeUndefined();
});

test("contradictions and missing pieces are usage errors naming the flags", () => {
  expect(() => clientAuthArg({ broker, user: "alice" }, {})).toThrow(/--password-file PATH or env GAFKA_PASSWORD/);
  expect(() => clientAuthArg({ broker, "password-file": file("p", "x") }, {})).toThrow(/give --user too/);
  expect(() => clientAuthArg({ broker, user: "alice", "token-file": file("t", "x") }, { GAFKA_PASSWORD: "p" })).toThrow(/not both/);
  expect(() => clientAuthArg({ broker, "token-file": file("empty", "\n") }, {})).toThrow(/is empty/);
  expect(() => clientAuthArg({ broker, "token-file": path.join(temp.dir, "missing") }, {})).toThrow(/cannot read --token-file .*ENOENT/);
  expect(() => clientAuthArg({ broker, user: "a:b" }, { GAFKA_PASSWORD: "p" })).toThrow(/without ':'/);
});

test("a new password: --new-password-file, else env GAFKA_NEW_PASSWORD, else stdin unless it is a terminal", async () => {
  const stdin = (text: string, isTerminal = false) => ({ isTerminal, text: async () => text });
  expect(await readNewPassword({ file: file("n", "from-file\n"), env: { GAFKA_NEW_PASSWORD: "env" }, stdin: stdin("in") })).toBe("from-file");
  expect(await readNewPassword({ file: undefined, env: { GAFKA_NEW_PASSWORD: "from-env" }, stdin: stdin("in") })).toBe("from-env");
  expect(await readNewPassword({ file: undefined, env: {}, stdin: stdin("from-stdin\r\n") })).toBe("from-stdin");
  await expect(readNewPassword({ file: undefined, env: {}, stdin: stdin("", true) })).rejects.toThrow(/--new-password-file PATH, env GAFKA_NEW_PASSWORD, or on standard input/);
});
