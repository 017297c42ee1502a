import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { CRON_SCHEDULE } from "../src/jobs/schedule";

describe("bindings work locally", () => {
  it("PersonaGate and RateLimiter are SQLite-backed Durable Objects with RPC", async () => {
    const gate = env.PERSONA_GATE.get(env.PERSONA_GATE.idFromName("persona-1"));
    expect(await gate.ping()).toBe(1);
    expect(await gate.ping()).toBe(2);
    const limiter = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("LOGIN_IP:0.0.0.0"));
    expect(await limiter.ping()).toBe(1);
  });

  it("R2 stores and returns objects", async () => {
    await env.FILES.put("avatars/ws/user/obj", "hello", { httpMetadata: { contentType: "text/plain" } });
    const object = await env.FILES.get("avatars/ws/user/obj");
    expect(await object?.text()).toBe("hello");
  });

  it("the queue consumer acks a delivery id it has no row for and drops malformed bodies", async () => {
    const batch = createMessageBatch("email-queue", [
      {
        id: "m1",
        timestamp: new Date(),
        attempts: 1,
        body: { kind: "email", deliveryId: crypto.randomUUID() },
      },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { nonsense: true } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
  });

  it("the producer binding accepts messages", async () => {
    await expect(
      env.EMAIL_QUEUE.send({ kind: "email", deliveryId: crypto.randomUUID() }),
    ).resolves.not.toThrow();
  });

  it("every cron trigger of wrangler.toml has jobs, and scheduled() runs for each", async () => {
    for (const cron of Object.keys(CRON_SCHEDULE)) {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, ctx);
      await waitOnExecutionContext(ctx);
    }
    expect(Object.keys(CRON_SCHEDULE)).toEqual(["*/15 * * * *", "0 3 * * *", "0 4 * * 0"]);
  });
});
