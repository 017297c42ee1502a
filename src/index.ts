import { createApp } from "./app";
import { consumeEmailBatch } from "./email/consumer";
import type { Env } from "./env";
import { runScheduled } from "./jobs/runner";

export { PersonaGate } from "./durable-objects/persona-gate";
export { RateLimiter } from "./durable-objects/rate-limiter";

const app = createApp();

export default {
  fetch: app.fetch,

  /** Email delivery (email-queue) and its dead-letter queue (email-dlq): src/email/consumer.ts. */
  async queue(batch, env, _ctx) {
    await consumeEmailBatch(batch, env);
  },

  /** Cron Triggers → the named maintenance jobs of CONFIG.md (src/jobs). */
  async scheduled(controller, env, ctx) {
    await runScheduled(env, ctx, controller.cron);
  },
} satisfies ExportedHandler<Env, unknown>;
