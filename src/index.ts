import { createApp } from "./app";
import { createLogger } from "./core/logger";
import { EmailQueueMessage } from "./email/queue-messages";
import type { Env } from "./env";
import { jobsFor } from "./jobs/schedule";

export { PersonaGate } from "./durable-objects/persona-gate";
export { RateLimiter } from "./durable-objects/rate-limiter";

const app = createApp();

export default {
  fetch: app.fetch,

  /** Email delivery (email-queue) and its dead-letter queue (email-dlq). The sender arrives with the accounts issue. */
  async queue(batch, _env, _ctx) {
    const log = createLogger("info", { queue: batch.queue });
    for (const message of batch.messages) {
      const parsed = EmailQueueMessage.safeParse(message.body);
      if (!parsed.success) {
        // A malformed body can never succeed: drop it instead of retrying it into the DLQ.
        log.error("dropping malformed queue message", { messageId: message.id });
        message.ack();
        continue;
      }
      log.info("email delivery received", { deliveryId: parsed.data.deliveryId, attempts: message.attempts });
      message.ack();
    }
  },

  /** Cron Triggers → the named maintenance jobs of CONFIG.md. */
  async scheduled(controller, _env, _ctx) {
    const log = createLogger("info", { cron: controller.cron });
    const jobs = jobsFor(controller.cron);
    if (jobs.length === 0) log.warn("no jobs for this cron expression");
    else log.info("scheduled run", { jobs });
  },
} satisfies ExportedHandler<Env, unknown>;
