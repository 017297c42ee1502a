/**
 * `node scripts/openapi/export.ts [out] [origin]`: writes the OpenAPI 3.1 document to .data/openapi.json
 * (default) without starting the Worker. esbuild bundles the app for Node (Workers-only modules stubbed: the
 * document is built from the route table alone, no handler runs), then buildOpenApiDocument renders it — the
 * same function /docs/openapi.json uses. Used by lint:openapi, postman and the e2e typed-client check.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export async function exportOpenApi(
  outFile = join(root, ".data", "openapi.json"),
  origin = "https://api.example.com",
): Promise<Record<string, unknown>> {
  const bundle = join(root, ".data", "openapi", "app.mjs");
  mkdirSync(dirname(bundle), { recursive: true });
  await build({
    stdin: {
      contents:
        'export { createApp } from "./src/app.ts";\nexport { buildOpenApiDocument } from "./src/core/docs.ts";\n',
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    external: ["cloudflare:*"],
    loader: { ".wasm": "empty" },
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: "warning",
  });
  const mod = (await import(`${pathToFileURL(bundle).href}?t=${Date.now()}`)) as {
    createApp: () => unknown;
    buildOpenApiDocument: (app: unknown, origin: string) => Record<string, unknown>;
  };
  const document = mod.buildOpenApiDocument(mod.createApp(), origin);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(document, null, 2)}\n`);
  return document;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  const document = await exportOpenApi(out, process.argv[3]);
  const paths = Object.keys(document.paths as object).length;
  console.log(`[openapi] ${paths} paths → ${out ?? ".data/openapi.json"}`);
}
