import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { OpenAPIHono } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/core/app-env";
import { handleError } from "../../src/core/error-handler";
import type { Env } from "../../src/env";
import { rateLimit } from "../../src/middleware/rate-limit";
import { requestContext } from "../../src/middleware/request-context";
import { BASE_URL } from "../helpers/request";

/** A tiny app: the real request context, the middleware under test, and a handler that counts its calls. */
function testApp() {
  const app = new OpenAPIHono<AppEnv>();
  let handled = 0;
  app.use(requestContext);
  app.post(
    "/limited",
    rateLimit("LOGIN_IP", (c) => c.var.clientIp),
    (c) => {
      handled++;
      return c.json({ ok: true }, 200);
    },
  );
  app.post(
    "/by-header",
    rateLimit("CHAT_USER", async (c) => c.req.header("X-User") ?? "anonymous"),
    (c) => c.json({ ok: true }, 200),
  );
  app.onError(handleError);
  return { app, handledCount: () => handled };
}

const bindings = { ...env, RATE_LIMIT_LOGIN_IP: "2/60", RATE_LIMIT_CHAT_USER: "1/60" } as Env;

async function call(app: OpenAPIHono<AppEnv>, path: string, headers: Record<string, string>) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(new URL(path, BASE_URL), { method: "POST", headers }),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { res, text: await res.text() };
}

describe("rateLimit middleware", () => {
  it("sets RateLimit-* on allowed responses, then answers 429 problem+json without running the handler", async () => {
    const { app, handledCount } = testApp();
    const headers = { "CF-Connecting-IP": `10.${crypto.getRandomValues(new Uint8Array(3)).join(".")}` };

    const first = await call(app, "/limited", headers);
    expect(first.res.status, first.text).toBe(200);
    expect(first.res.headers.get("RateLimit-Limit")).toBe("2");
    expect(first.res.headers.get("RateLimit-Remaining")).toBe("1");
    expect(first.res.headers.get("RateLimit-Reset")).toBe("60");

    const second = await call(app, "/limited", headers);
    expect(second.res.headers.get("RateLimit-Remaining"), second.text).toBe("0");

    const refused = await call(app, "/limited", headers);
    expect(refused.res.status, refused.text).toBe(429);
    expect(refused.res.headers.get("Content-Type")).toBe("application/problem+json");
    const body = JSON.parse(refused.text);
    expect(body).toMatchObject({ status: 429, code: "RATE_LIMITED", type: "/docs/errors#RATE_LIMITED" });
    expect(body.traceId).toBe(refused.res.headers.get("X-Request-Id"));
    expect(Number(refused.res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(59);
    expect(refused.res.headers.get("RateLimit-Limit")).toBe("2");
    expect(refused.res.headers.get("RateLimit-Remaining")).toBe("0");
    expect(refused.res.headers.get("RateLimit-Reset")).not.toBeNull();
    expect(handledCount()).toBe(2);
  });

  it("accepts an async subject and keeps subjects apart", async () => {
    const { app } = testApp();
    const alice = { "X-User": `alice-${crypto.randomUUID()}` };
    expect((await call(app, "/by-header", alice)).res.status).toBe(200);
    expect((await call(app, "/by-header", alice)).res.status).toBe(429);
    expect((await call(app, "/by-header", { "X-User": `bob-${crypto.randomUUID()}` })).res.status).toBe(200);
  });
});
