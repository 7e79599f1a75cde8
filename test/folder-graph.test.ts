/**
 * The house keeps its shape: every import in src/, test/ and bench/ obeys the folder graph in
 * .dependency-cruiser.cjs (folders import downwards only, core ← protocol ← storage ← broker ←
 * groups ← replication ← the doors ← run-broker.ts ← cli; client/ on core/ and protocol/ alone;
 * no cycle between folders). dependency-cruiser reads the imports (type-only and dynamic ones
 * included) and checks them against the rules; an upward import fails here, naming the rule,
 * the file and the import.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ICruiseResult } from "dependency-cruiser";
import { makeTempDir } from "./helpers/temp-dir.ts";

const REPO_ROOT = path.resolve(import.meta.dir, "..");
const CONFIG = path.join(REPO_ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = path.join(REPO_ROOT, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs");

/**
 * dependency-cruiser's result for `paths`, read from `baseDir`. It runs under node, its supported
 * runtime: TypeScript 7 has no JavaScript API, so it parses TypeScript with swc, and under Bun its
 * swc visitor does not load (Bun hands `import("@swc/core/Visitor.js")` the CommonJS
 * `exports.default` where node hands the whole `exports`, so the visitor class is never found).
 */
function cruise(baseDir: string, paths: string[]): ICruiseResult {
  const node = Bun.which("node");
  if (node === null) throw new Error("the folder-graph check needs node (npm's runtime) on the PATH");
  const run = Bun.spawnSync([node, DEPCRUISE, ...paths, "--config", CONFIG, "--output-type", "json"], {
    cwd: baseDir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = run.stdout.toString();
  if (!stdout.startsWith("{")) throw new Error(`depcruise exited ${run.exitCode}: ${run.stderr.toString()}${stdout}`);
  return JSON.parse(stdout) as ICruiseResult;
}

/** Each violation as `rule: from → to` (a cycle: `from → ... → from`), as the command line prints it. */
function violations(baseDir: string, paths: string[]): string[] {
  return cruise(baseDir, paths).summary.violations.map((found) => {
    const to = found.cycle === undefined ? found.to : found.cycle.map((step) => step.name).join(" → ");
    return `${found.rule.name}: ${found.from} → ${to}`;
  });
}

describe("folder graph", () => {
  test("src/, test/ and bench/ import only along the allowed edges", () => {
    expect(violations(REPO_ROOT, ["src", "test", "bench"])).toEqual([]);
  });

  test("the check reads TypeScript imports with .ts extensions, type-only and dynamic ones too", () => {
    const output = cruise(REPO_ROOT, ["src/cli/broker.ts", "src/client/producer.ts"]);
    const targets = (source: string) =>
      output.modules.find((module) => module.source === source)!.dependencies.map((dependency) => dependency.resolved);
    expect(targets("src/cli/broker.ts")).toContain("src/run-broker.ts"); // await import(...)
    expect(targets("src/client/producer.ts")).toContain("src/client/produce-encoder.ts"); // import type
    expect(targets("src/client/producer.ts")).toContain("src/protocol/partitioner.ts");
  });

  describe("in a house built to break the rules", () => {
    const temp = makeTempDir("gafka-folder-graph-");
    afterAll(temp.remove);
    const files: Record<string, string> = {
      // An upward import: storage reaching into a door.
      "src/storage/segment.ts": 'import { route } from "../http/route.ts";\nexport const segment = route;\n',
      "src/http/route.ts": "export const route = 1;\n",
      // The SDK reaching into the broker's insides.
      "src/client/producer.ts": 'import type { Broker } from "../broker/broker.ts";\nexport type Producer = Broker;\n',
      "src/broker/broker.ts": "export type Broker = { id: number };\n",
      // The shared codec depending on node.
      "src/protocol/crc32c.ts": 'import { readFileSync } from "node:fs";\nexport const crc = readFileSync;\n',
      // A cycle between two folders (core upwards to groups and back).
      "src/core/clock.ts": 'import { group } from "../groups/group.ts";\nexport const clock = () => group;\n',
      "src/groups/group.ts": 'import { clock } from "../core/clock.ts";\nexport const group = clock;\n',
    };
    for (const [file, source] of Object.entries(files)) {
      mkdirSync(path.join(temp.dir, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(temp.dir, file), source);
    }

    test("every broken rule is named", () => {
      expect(violations(temp.dir, ["src"]).sort()).toEqual(
        [
          "storage-imports-downwards: src/storage/segment.ts → src/http/route.ts",
          "client-imports-downwards: src/client/producer.ts → src/broker/broker.ts",
          "protocol-pure: src/protocol/crc32c.ts → fs",
          "core-imports-downwards: src/core/clock.ts → src/groups/group.ts",
          "no-cycle-between-folders: src/core/clock.ts → src/groups/group.ts → src/core/clock.ts",
        ].sort(),
      );
    });
  });
});
