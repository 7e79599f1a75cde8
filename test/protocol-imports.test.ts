/**
 * The SDK and the shared codec keep to their side of the house (STYLE.md, "The shape of the
 * house"): src/client/ knows the wire and src/protocol/, never the broker's insides
 * (src/storage/, src/broker/, ...), and src/protocol/ builds on src/core/ alone, so client and
 * server can share it without either pulling in the other. A plain text check of each file's
 * import specifiers, so an import across the line fails here rather than in review.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const REPO_ROOT = path.resolve(import.meta.dir, "..");
const SRC = path.join(REPO_ROOT, "src");

/** Static `import ... from`, `export ... from`, bare `import "x"`, and `import("x")` / `require("x")`. */
const SPECIFIER_PATTERNS = [
  /^\s*(?:import|export)\s+(?:type\s+)?(?:\{[^}]*\}|\*\s+as\s+\w+|\*|\w+(?:\s*,\s*\{[^}]*\})?)\s+from\s*["']([^"']+)["']/gm,
  /^\s*import\s*["']([^"']+)["']/gm,
  /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g,
];

function importSpecifiers(source: string): string[] {
  const specifiers: string[] = [];
  for (const pattern of SPECIFIER_PATTERNS) {
    for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  }
  return specifiers;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: "utf8" })
    .filter((name) => /\.(ts|js|mjs)$/.test(name))
    .map((name) => path.join(directory, name));
}

/** Test code may also use test/helpers and dev packages (kafkajs as an independent codec). */
function isTestCode(file: string): boolean {
  return /\.(test|fixture)\.ts$/.test(file);
}

interface FolderRule {
  folder: string;
  /** Folders under src/ that its relative imports may reach. */
  allowedSrcFolders: string[];
  /** Bare specifiers its non-test files may use. */
  allowedBare: (specifier: string) => boolean;
}

const RULES: FolderRule[] = [
  {
    folder: "client",
    allowedSrcFolders: ["client", "core", "protocol"],
    allowedBare: (specifier) => specifier.startsWith("node:"),
  },
  {
    folder: "protocol",
    allowedSrcFolders: ["core", "protocol"],
    allowedBare: () => false,
  },
];

/** Each import of the folder's files that crosses its line, as `file: specifier`. */
function violations(rule: FolderRule): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(path.join(SRC, rule.folder))) {
    const testCode = isTestCode(file);
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      const where = `${path.relative(REPO_ROOT, file)}: ${specifier}`;
      if (!specifier.startsWith(".")) {
        const allowed = testCode || specifier.startsWith("bun:") || rule.allowedBare(specifier);
        if (!allowed) found.push(where);
        continue;
      }
      const target = path.relative(REPO_ROOT, path.resolve(path.dirname(file), specifier));
      const [top, folder] = target.split(path.sep);
      const allowed = top === "src" ? rule.allowedSrcFolders.includes(folder) : testCode && top === "test" && folder === "helpers";
      if (!allowed) found.push(where);
    }
  }
  return found;
}

describe("folder imports", () => {
  test("the specifier reader finds every form of import", () => {
    const source = [
      'import { a } from "./a.ts";',
      "import {",
      "  b,",
      "  c,",
      '} from "../core/b.ts";',
      'import type { D } from "../storage/d.ts";',
      'import * as e from "node:path";',
      'import f, { g } from "f";',
      'export { h } from "../broker/h.ts";',
      'import "./side-effect.ts";',
      'const i = await import("../groups/i.ts");',
      'const j = require("kafkajs/j.js");',
      ' * import { NotCode } from "../http/doc-comment.ts";',
    ].join("\n");
    expect(importSpecifiers(source).sort()).toEqual(
      ["./a.ts", "../core/b.ts", "../storage/d.ts", "node:path", "f", "../broker/h.ts", "./side-effect.ts", "../groups/i.ts", "kafkajs/j.js"].sort(),
    );
  });

  test("the check reads the real folders", () => {
    expect(importSpecifiers(readFileSync(path.join(SRC, "client/producer.ts"), "utf8"))).toContain("../protocol/partitioner.ts");
    expect(importSpecifiers(readFileSync(path.join(SRC, "protocol/record-batch.ts"), "utf8"))).toContain("./crc32c.ts");
  });

  for (const rule of RULES) {
    test(`src/${rule.folder}/ imports only from ${rule.allowedSrcFolders.map((folder) => `src/${folder}/`).join(", ")}`, () => {
      expect(violations(rule)).toEqual([]);
    });
  }

  test("an import outside the allowed folders is caught (client without protocol/ in its list)", () => {
    const lenient: FolderRule = { folder: "client", allowedSrcFolders: ["client", "core"], allowedBare: () => true };
    expect(violations(lenient).some((line) => line.includes("../protocol/"))).toBe(true);
  });
});
