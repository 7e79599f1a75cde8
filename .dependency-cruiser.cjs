/**
 * The folder graph of src/ (STYLE.md, "The shape of the house"), checked by
 * test/folder-graph.test.ts on every `npm test`, and by hand with
 * `npx depcruise src test bench`.
 *
 * Each part imports only parts below it in this list (MAY_IMPORT says it exactly):
 *
 *   main.ts
 *   cli/, with bench/ (src/bench, load tools) under it
 *   run-broker.ts        wires one broker process: domain, storage, metrics, doors
 *   http/, kafka/        the front doors, side by side, never importing each other
 *   metrics/             reads the domain; the doors and run-broker.ts read it
 *   replication/
 *   groups/
 *   broker/
 *   security/            who calls (principals), their credentials and ACLs
 *   storage/
 *   protocol/
 *   core/
 *
 * client/ (the SDK) stands beside the server: it imports core/ and protocol/
 * alone, and only cli/ and bench/ import it. The domain never imports
 * metrics/; it reports through hooks (`onFsync`) that run-broker.ts connects.
 *
 * Tests beside the code (`*.test.ts`, `*.fixture.ts`) keep their folder's
 * rules, and may also reach test/helpers/ and the wiring at the top
 * (run-broker.ts, main.ts), which they start whole.
 */

/** Every part of src/ and the path pattern of its files. */
const PARTS = {
  core: "^src/core/",
  protocol: "^src/protocol/",
  storage: "^src/storage/",
  security: "^src/security/",
  broker: "^src/broker/",
  groups: "^src/groups/",
  replication: "^src/replication/",
  metrics: "^src/metrics/",
  http: "^src/http/",
  kafka: "^src/kafka/",
  "run-broker": "^src/run-broker\\.",
  client: "^src/client/",
  bench: "^src/bench/",
  cli: "^src/cli/",
  main: "^src/main\\.",
};

const DOMAIN = ["core", "protocol", "storage", "security", "broker", "groups", "replication"];

/** What each part may import besides itself. Anything else under src/ is an error. */
const MAY_IMPORT = {
  core: [],
  protocol: ["core"],
  storage: ["core", "protocol"],
  security: ["core", "protocol", "storage"],
  broker: ["core", "protocol", "storage", "security"],
  groups: ["core", "protocol", "storage", "security", "broker"],
  replication: ["core", "protocol", "storage", "security", "broker", "groups"],
  metrics: DOMAIN,
  http: [...DOMAIN, "metrics"],
  kafka: [...DOMAIN, "metrics"],
  "run-broker": [...DOMAIN, "metrics", "http", "kafka"],
  client: ["core", "protocol"],
  bench: ["core", "protocol", "client"],
  cli: [...DOMAIN, "metrics", "http", "kafka", "run-broker", "client", "bench"],
  main: ["core", "cli"],
};

const TEST_FILE = "\\.(test|fixture)\\.ts$";
const TEST_MAY_ALSO_IMPORT = ["^test/helpers/", PARTS["run-broker"], PARTS.main];

function folderRules() {
  return Object.entries(MAY_IMPORT).flatMap(([part, allowed]) => {
    const allowedPaths = [part, ...allowed].map((name) => PARTS[name]);
    const comment = `src/${part} may import only ${allowed.length === 0 ? "itself" : allowed.join(", ")}`;
    return [
      {
        name: `${part}-imports-downwards`,
        comment,
        severity: "error",
        from: { path: PARTS[part], pathNot: TEST_FILE },
        to: { path: "^src/", pathNot: allowedPaths },
      },
      {
        name: `${part}-tests-import-downwards`,
        comment: `${comment}; its tests also test/helpers, run-broker.ts and main.ts`,
        severity: "error",
        from: { path: `${PARTS[part]}.*${TEST_FILE}` },
        to: { path: ["^src/", "^test/", "^bench/"], pathNot: [...allowedPaths, ...TEST_MAY_ALSO_IMPORT] },
      },
    ];
  });
}

module.exports = {
  forbidden: [
    ...folderRules(),
    {
      name: "src-in-a-part",
      comment: "every file under src/ belongs to one of the parts above, so every file is covered by a rule",
      severity: "error",
      from: { path: "^src/", pathNot: Object.values(PARTS) },
      to: {},
    },
    {
      name: "no-cycle-between-folders",
      comment: "a cycle that leaves its folder ties the folders together; MAY_IMPORT forbids them already, this names them",
      severity: "error",
      from: { path: "^src/([^/]+)/" },
      to: { circular: true, via: { pathNot: "^src/$1/" } },
    },
    {
      name: "src-not-to-test-or-bench",
      comment: "the product never imports test code or the benchmark tools (tests beside the code may use test/helpers)",
      severity: "error",
      from: { path: "^src/", pathNot: TEST_FILE },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "src-not-to-dev-dependency",
      comment: "devDependencies are not installed with the product",
      severity: "error",
      from: { path: "^src/", pathNot: TEST_FILE },
      to: { dependencyTypes: ["npm-dev"] },
    },
    {
      name: "client-no-packages",
      comment: "the SDK needs no package beyond node: and bun: built-ins",
      severity: "error",
      from: { path: PARTS.client, pathNot: TEST_FILE },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "protocol-pure",
      comment: "the shared codec uses no package and no node: built-in, so any runtime can load it",
      severity: "error",
      from: { path: PARTS.protocol, pathNot: TEST_FILE },
      to: { dependencyTypesNot: ["local"], pathNot: "^bun:" },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that does not resolve would escape every rule above",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // TypeScript 7 (the Go compiler) has no JavaScript API, which dependency-cruiser's
    // tsc parser needs (it supports typescript < 7); swc parses TypeScript for it.
    parser: "swc",
    // Type-only imports are dependencies between folders too.
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    builtInModules: { add: ["bun", "bun:test", "bun:ffi", "bun:sqlite", "bun:jsc"] },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
  },
};
