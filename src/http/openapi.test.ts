import SwaggerParser from "@apidevtools/swagger-parser";
import { expect, test } from "bun:test";
import * as path from "node:path";
import { routeTable } from "./server.ts";

const SPEC_PATH = path.join(import.meta.dir, "../../docs/openapi.yaml");
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, unknown> };
}

async function loadSpec(): Promise<OpenApiDocument> {
  return Bun.YAML.parse(await Bun.file(SPEC_PATH).text()) as OpenApiDocument;
}

function specOperations(spec: OpenApiDocument): string[] {
  const operations: string[] = [];
  for (const [specPath, item] of Object.entries(spec.paths)) {
    for (const key of Object.keys(item)) if (METHODS.includes(key)) operations.push(`${key.toUpperCase()} ${specPath}`);
  }
  return operations.sort();
}

test("docs/openapi.yaml is a valid OpenAPI document", async () => {
  // An independent parser and the OpenAPI schema: a YAML slip (say, an unquoted
  // comma in a flow mapping) can still parse, into a document no tool accepts.
  const problems = await SwaggerParser.validate(SPEC_PATH).then(
    () => "",
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  expect(problems).toBe("");
});

test("docs/openapi.yaml names exactly the routes the server answers", async () => {
  const spec = await loadSpec();
  expect(spec.openapi).toStartWith("3.");
  const served = routeTable.map((route) => `${route.method} ${route.path}`).sort();
  expect(specOperations(spec)).toEqual(served);
});

test("every operation documents its success and error bodies", async () => {
  const spec = await loadSpec();
  for (const [specPath, item] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const responses = (operation as { responses: Record<string, { content?: unknown; $ref?: string }> }).responses;
      const statuses = Object.keys(responses);
      expect(statuses.some((status) => status.startsWith("2")), `${method} ${specPath} success`).toBe(true);
      expect(statuses.some((status) => /^[45]/.test(status)), `${method} ${specPath} errors`).toBe(true);
      for (const [status, response] of Object.entries(responses)) {
        expect(response.content !== undefined || response.$ref !== undefined, `${method} ${specPath} ${status} body`).toBe(true);
      }
    }
  }
});

test("every $ref in the spec resolves", async () => {
  const spec = await loadSpec();
  const text = await Bun.file(SPEC_PATH).text();
  const refs = [...text.matchAll(/\$ref: "#\/components\/(schemas|responses)\/([A-Za-z]+)"/g)];
  expect(refs.length).toBeGreaterThan(0);
  for (const [, kind, name] of refs) expect(spec.components[kind as "schemas" | "responses"][name!], `${kind}/${name}`).toBeDefined();
});
