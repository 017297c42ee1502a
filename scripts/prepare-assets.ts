/**
 * Fills the git-ignored .assets/ folder served through the ASSETS binding: our own static files (static/)
 * plus Swagger UI's files from node_modules, so /docs never loads anything from a CDN (STACK.md).
 */
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function prepareAssets(): string {
  const out = join(root, ".assets");
  const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "docs", "vendor"), { recursive: true });
  cpSync(join(root, "static"), out, { recursive: true });
  for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"]) {
    cpSync(join(swaggerDir, file), join(out, "docs", "vendor", file));
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`assets ready in ${prepareAssets()}`);
}
