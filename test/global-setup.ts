/**
 * Runs once in the vitest (Node) process: a throwaway embedded Postgres with the migrations applied, and the
 * loopback fakes of the outside world. Their URLs reach the Workers pool through `provide` (vitest.config.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startHibpFake, startOidcFake, startSmtpSink, startWebhookFake } from "../scripts/fakes/index.ts";
import { freePort } from "../scripts/lib/ports.ts";
import { startPostgres } from "../scripts/lib/postgres.ts";
import { applyMigrations } from "../scripts/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
    smtpPort: number;
    smtpControlUrl: string;
    webhookUrl: string;
    hibpUrl: string;
    oidcUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const [pg, smtp, webhook, hibp, oidc] = await Promise.all([
    freePort().then((port) =>
      startPostgres({
        dataDir: mkdtempSync(join(tmpdir(), "persona-test-pg-")),
        port,
        database: "persona_test",
        persistent: false,
        fast: true,
      }),
    ),
    startSmtpSink({}),
    startWebhookFake({}),
    startHibpFake({}),
    startOidcFake({ clientSecret: "test-google-secret" }),
  ]);
  await applyMigrations(pg.url);
  project.provide("pgUrl", pg.url);
  project.provide("smtpPort", smtp.smtpPort);
  project.provide("smtpControlUrl", smtp.controlUrl);
  project.provide("webhookUrl", webhook.url);
  project.provide("hibpUrl", hibp.url);
  project.provide("oidcUrl", oidc.url);
  return async () => {
    await Promise.all([smtp.stop(), webhook.stop(), hibp.stop(), oidc.stop()]);
    await pg.stop();
  };
}
