/**
 * `npm run postman [-- --base-url http://127.0.0.1:8787]`: a Postman v2.1 collection of the whole API, converted
 * from the generated OpenAPI document by openapi-to-postmanv2, written to .data/postman/collection.json.
 *
 * Collection variables: `baseUrl` (default: the document's server) and `bearerToken`. Secured requests inherit
 * the collection's bearer auth ({{bearerToken}}); public ones send no auth. The login request's test script
 * stores `accessToken` into `bearerToken`, so "Log in" then any other request works in Postman or newman.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Converter from "openapi-to-postmanv2";
import { exportOpenApi } from "./export.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

type Auth = { type: string } | null | undefined;
type Item = {
  name: string;
  item?: Item[];
  request?: { method: string; auth?: Auth; url: { path?: string[] } };
  event?: unknown[];
};
type Collection = {
  info: { schema: string };
  item: Item[];
  variable?: { key: string; value: string; type?: string }[];
  auth?: unknown;
};

/**
 * The converter logs (console.warn, and survives) a json-schema-merge-allof failure for each response example whose allOf
 * members carry different `default`s; those examples fall back to the plain schema. Counted, not printed.
 */
async function convert(document: Record<string, unknown>): Promise<Collection> {
  const original = console.warn;
  let fallbacks = 0;
  console.warn = (...args: unknown[]) => {
    if (String(args[0]).startsWith("Error while resolving allOf schema")) fallbacks += 1;
    else original(...args);
  };
  try {
    const collection = await convertRaw(document);
    if (fallbacks > 0)
      console.log(`[postman] ${fallbacks} response examples fell back to the schema (allOf defaults)`);
    return collection;
  } finally {
    console.warn = original;
  }
}

function convertRaw(document: Record<string, unknown>): Promise<Collection> {
  return new Promise((resolve, reject) => {
    Converter.convert(
      { type: "json", data: document },
      {
        folderStrategy: "Tags",
        requestParametersResolution: "Example",
        exampleParametersResolution: "Example",
      },
      (error, result) => {
        if (!result) return reject(error ?? new Error("conversion failed"));
        if (error) return reject(error);
        const output = result.result ? result.output?.[0]?.data : undefined;
        if (!output) return reject(new Error(`conversion failed: ${result.reason ?? "no output"}`));
        resolve(output as unknown as Collection);
      },
    );
  });
}

function* requests(items: Item[]): Generator<Item> {
  for (const item of items) {
    if (item.item) yield* requests(item.item);
    else if (item.request) yield item;
  }
}

export async function buildPostmanCollection(baseUrl: string): Promise<Collection> {
  const document = await exportOpenApi(undefined, baseUrl);
  const collection = await convert(document);
  collection.variable = [
    { key: "baseUrl", value: baseUrl, type: "string" },
    { key: "bearerToken", value: "", type: "string" },
  ];
  collection.auth = { type: "bearer", bearer: [{ key: "token", value: "{{bearerToken}}", type: "string" }] };
  let count = 0;
  for (const item of requests(collection.item)) {
    count += 1;
    const request = item.request;
    if (!request) continue;
    // Secured operations inherit the collection's bearer auth; public ones explicitly send none.
    if (request.auth?.type === "bearer") delete request.auth;
    else request.auth = { type: "noauth" };
    if (request.method === "POST" && request.url.path?.join("/") === "api/auth/login") {
      item.event = [
        {
          listen: "test",
          script: {
            type: "text/javascript",
            exec: [
              "const body = pm.response.json();",
              'if (body.accessToken) pm.collectionVariables.set("bearerToken", body.accessToken);',
            ],
          },
        },
      ];
    }
  }
  const operations = Object.values(document.paths as Record<string, Record<string, unknown>>).reduce(
    (sum, methods) => sum + Object.keys(methods).filter((m) => m !== "parameters").length,
    0,
  );
  if (count !== operations) throw new Error(`collection has ${count} requests for ${operations} operations`);
  return collection;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { "base-url": { type: "string" }, out: { type: "string" } } });
  const out = values.out ?? join(root, ".data", "postman", "collection.json");
  const collection = await buildPostmanCollection(values["base-url"] ?? "http://127.0.0.1:8787");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(collection, null, 2)}\n`);
  console.log(`[postman] v2.1 collection with ${[...requests(collection.item)].length} requests → ${out}`);
}
