import { createApp } from "./app";
import { createLogger } from "./core/logger";
import { consumeEmailBatch } from "./email/consumer";
import type { Env } from "./env";
import { jobsFor } from "./jobs/schedule";

export { PersonaGate } from "./durable-objects/persona-gate";
export { RateLimiter } from "./durable-objects/rate-limiter";

const app = createApp();

export default {
  fetch: app.fetch,

  /** Email delivery (email-queue) and its dead-letter queue (email-dlq): src/email/consumer.ts. */
  async queue(batch, env, _ctx) {
    await consumeEmailBatch(batch, env);
  },

  /** Cron Triggers → the named maintenance jobs of CONFIG.md. */
  async scheduled(controller, _env, _ctx) {
    const log = createLogger("info", { cron: controller.cron });
    const jobs = jobsFor(controller.cron);
    if (jobs.length === 0) log.warn("no jobs for this cron expression");
    else log.info("scheduled run", { jobs });
  },
} satisfies ExportedHandler<Env, unknown>;
