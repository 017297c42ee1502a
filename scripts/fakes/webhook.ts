/**
 * Persona webhook fake: stands in for an n8n (or any) workflow the relay POSTs chat messages to. Tests script
 * how each path answers — reply shapes, errors, slowness, redirects, dropped connections — and read back what
 * the Worker sent (headers and the exact raw body, so signatures can be re-computed). Paths keep concurrent
 * tests apart: give each test its own webhook path.
 *
 * Control API:
 *   PUT    /__control/script {path, behaviours: Behaviour[]} → queue for that path, one consumed per
 *          request, the last one repeating (an empty list restores the default)
 *   GET    /__control/requests?path=/x → RecordedRequest[] oldest first (all paths without `path`)
 *   DELETE /__control/requests          → 204, forgets every request and every script
 *   GET    /__control/health            → {status:"ok"}
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  closeServer,
  flatHeaders,
  handle,
  listen,
  parseJson,
  readBody,
  requestUrl,
  sendJson,
  sendText,
} from "./http.ts";

export type Behaviour =
  /** 200 `{reply: "Echo: <message>"}` — the default. */
  | { kind: "echo" }
  /** 200 `[{json: {output: "Echo: <message>"}}]`, what n8n's "Respond to Webhook" node sends by default. */
  | { kind: "n8n" }
  /** 200 text/plain `Echo: <message>`. */
  | { kind: "text" }
  /** Any status with an optional raw body (e.g. 500, 429). */
  | { kind: "status"; status: number; body?: string }
  /** Waits, then answers as `then` (echo by default): to hit the relay's deadline. */
  | { kind: "slow"; delayMs: number; then?: Behaviour }
  /** 302 to `location`: the relay must not follow it. */
  | { kind: "redirect"; location: string }
  /** Never answers (the socket is dropped only when the fake stops). */
  | { kind: "hang" }
  /** Arbitrary JSON reply: `{output}`, `{message}`, `{text}`, `{reply, title}`, … */
  | { kind: "json"; body: unknown; status?: number }
  /** Destroys the socket without an answer: a connection failure for the caller. */
  | { kind: "close" };

export type RecordedRequest = {
  path: string;
  method: string;
  /** Names lower-cased. */
  headers: Record<string, string>;
  /** Raw body text, byte for byte what was signed. */
  body: string;
  json: unknown;
  receivedAt: string;
};

export type WebhookFakeOptions = {
  port?: number;
  /** `npm run dev`: unscripted paths answer like a friendly persona and each relay is logged. */
  demo?: boolean;
};

export type WebhookFake = {
  url: string;
  port: number;
  requests(path?: string): RecordedRequest[];
  stop(): Promise<void>;
};

const CONTROL = "/__control/";

export async function startWebhookFake(options: WebhookFakeOptions = {}): Promise<WebhookFake> {
  const recorded: RecordedRequest[] = [];
  const scripts = new Map<string, Behaviour[]>();
  // Aborted on stop so pending `slow` timers do not keep the process alive.
  const stopping = new AbortController();

  /** Takes the path's next behaviour; the last one stays for every later request. */
  function nextBehaviour(path: string): Behaviour | undefined {
    const queue = scripts.get(path);
    if (!queue || queue.length === 0) return undefined;
    return queue.length > 1 ? queue.shift() : queue[0];
  }

  async function respond(behaviour: Behaviour, message: string, res: ServerResponse): Promise<void> {
    switch (behaviour.kind) {
      case "echo":
        return sendJson(res, 200, { reply: `Echo: ${message}` });
      case "n8n":
        return sendJson(res, 200, [{ json: { output: `Echo: ${message}` } }]);
      case "text":
        return sendText(res, 200, `Echo: ${message}`);
      case "status":
        res.writeHead(behaviour.status, { "content-type": "text/plain; charset=utf-8" });
        res.end(behaviour.body ?? "");
        return;
      case "slow":
        try {
          await sleep(behaviour.delayMs, undefined, { signal: stopping.signal });
        } catch {
          return; // stopped while waiting: the socket is already gone
        }
        // The caller may have given up meanwhile; answering a closed socket is pointless.
        if (res.destroyed) return;
        return respond(behaviour.then ?? { kind: "echo" }, message, res);
      case "redirect":
        res.writeHead(302, { location: behaviour.location });
        res.end();
        return;
      case "hang":
        return; // closeServer() drops the socket on stop
      case "json":
        return sendJson(res, behaviour.status ?? 200, behaviour.body);
      case "close":
        res.socket?.destroy();
        return;
    }
  }

  async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname}`;
    if (route === "GET /__control/health") return sendJson(res, 200, { status: "ok" });
    if (route === "GET /__control/requests") {
      const path = url.searchParams.get("path");
      return sendJson(res, 200, path ? recorded.filter((r) => r.path === path) : recorded);
    }
    if (route === "DELETE /__control/requests") {
      recorded.length = 0;
      scripts.clear();
      res.writeHead(204).end();
      return;
    }
    if (route === "PUT /__control/script") {
      const body = parseJson(await readBody(req)) as { path?: unknown; behaviours?: unknown } | null;
      if (typeof body?.path !== "string" || !body.path.startsWith("/") || !Array.isArray(body.behaviours)) {
        return sendJson(res, 400, { error: "expected {path: '/…', behaviours: Behaviour[]}" });
      }
      scripts.set(body.path, [...(body.behaviours as Behaviour[])]);
      return sendJson(res, 200, { path: body.path, behaviours: body.behaviours });
    }
    sendJson(res, 404, { error: "unknown control route" });
  }

  const server = createServer(
    handle(async (req, res) => {
      const url = requestUrl(req);
      if (url.pathname.startsWith(CONTROL)) return control(req, res, url);
      // Webhooks are POST; a scripted path answers any method, so tests can also stand it in for another
      // slow or failing HTTP service (e.g. the breached-password range API).
      if (req.method !== "POST" && !scripts.has(url.pathname)) {
        return sendJson(res, 405, { error: "webhooks are POST only" });
      }

      const body = await readBody(req);
      const json = parseJson(body);
      recorded.push({
        path: url.pathname,
        method: req.method ?? "GET",
        headers: flatHeaders(req),
        body,
        json,
        receivedAt: new Date().toISOString(),
      });
      const payload = (json ?? {}) as { message?: unknown };
      const message = typeof payload.message === "string" ? payload.message : "";

      const scripted = nextBehaviour(url.pathname);
      if (!scripted && options.demo) return demoReply(url.pathname, json, res);
      await respond(scripted ?? { kind: "echo" }, message, res);
    }),
  );

  const port = await listen(server, options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  if (options.demo) console.log(`[webhook] demo persona webhook at ${url}/<any path>`);
  return {
    url,
    port,
    requests: (path) => (path ? recorded.filter((r) => r.path === path) : [...recorded]),
    stop: async () => {
      stopping.abort();
      await closeServer(server);
    },
  };
}

type RelayPayload = {
  message?: unknown;
  personaId?: unknown;
  conversationId?: unknown;
  history?: unknown;
};

const DEMO_REPLIES = [
  (persona: string, message: string) =>
    `Hi, ${persona} here. You said "${message}" — let's dig into that together.`,
  (persona: string, message: string) =>
    `Good question! As ${persona}, my first thought on "${message}" is to start small and iterate.`,
  (persona: string, message: string) =>
    `${persona} speaking: "${message}" is something I see a lot. Here is how I would approach it…`,
];

/** A canned but friendly persona answer, with a title for a new conversation, like a real flow might send. */
function demoReply(path: string, json: unknown, res: ServerResponse) {
  const payload = (json ?? {}) as RelayPayload;
  const message = typeof payload.message === "string" ? payload.message : "";
  const persona =
    typeof payload.personaId === "string" ? `persona ${payload.personaId.slice(0, 8)}` : "your persona";
  // Stable choice per message, so re-sending the same text gives the same answer.
  const pick = [...message].reduce((sum, char) => sum + (char.codePointAt(0) ?? 0), 0) % DEMO_REPLIES.length;
  const reply = DEMO_REPLIES[pick]?.(persona, message) ?? `Echo: ${message}`;
  const isFirstMessage = !Array.isArray(payload.history) || payload.history.length === 0;
  const suggestedTitle = isFirstMessage ? message.split(/\s+/).slice(0, 6).join(" ").slice(0, 60) : undefined;
  console.log(
    `[webhook] ${path} ${persona} conversation=${String(payload.conversationId ?? "?")} ` +
      `"${message.slice(0, 60)}"${suggestedTitle ? ` title="${suggestedTitle}"` : ""}`,
  );
  sendJson(res, 200, suggestedTitle ? { reply, suggestedTitle } : { reply });
}
