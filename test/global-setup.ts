import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../scripts/lib/ports.ts";
import { startPostgres } from "../scripts/lib/postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const pg = await startPostgres({
    dataDir: mkdtempSync(join(tmpdir(), "persona-test-pg-")),
    port: await freePort(),
    database: "persona_test",
    persistent: false,
    fast: true,
  });
  project.provide("pgUrl", pg.url);
  return async () => {
    await pg.stop();
  };
}
