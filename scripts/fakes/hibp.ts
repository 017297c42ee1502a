/**
 * HIBP Pwned Passwords range API fake (k-anonymity): `GET /range/<5 hex>` answers the SHA-1 suffixes that
 * share the prefix, one `SUFFIX:COUNT` per line, like api.pwnedpasswords.com. The password check is thereby
 * tested with real hashing and real parsing, including the padding lines (count 0) the real API adds when
 * asked with `Add-Padding: true`.
 *
 * Control API:
 *   POST   /__control/breached {password} → 200 {prefix, suffix}; that password is breached from now on
 *   POST   /__control/delay {ms}          → every answer waits ms first (to test the 2 s fail-open timeout)
 *   GET    /__control/requests            → [{prefix, addPadding, receivedAt}] oldest first
 *   DELETE /__control/requests            → 204, forgets the requests and resets the delay to 0
 *   GET    /__control/health              → {status:"ok"}
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { closeServer, handle, listen, parseJson, readBody, requestUrl, sendJson, sendText } from "./http.ts";

/** Passwords every run knows as breached (counts are only plausible). "correct horse battery staple" stays out. */
export const BREACHED_PASSWORDS: Record<string, number> = {
  password: 10434004,
  "123456": 46980440,
  "12345678": 3077473,
  qwerty: 1053465,
  letmein: 327339,
  "Password123!": 21784,
  "P@ssw0rd": 105893,
  "Tr0ub4dor&3": 108,
  "breached-password-example": 1,
};

export type HibpRequest = { prefix: string; addPadding: boolean; receivedAt: string };

export type HibpFakeOptions = { port?: number };

export type HibpFake = {
  url: string;
  port: number;
  requests(): HibpRequest[];
  /** Marks a password as breached, like POST /__control/breached. */
  addBreached(password: string, count?: number): void;
  stop(): Promise<void>;
};

/** Uppercase hex SHA-1, the form the range API works with. */
export function sha1Hex(password: string): string {
  return createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
}

export async function startHibpFake(options: HibpFakeOptions = {}): Promise<HibpFake> {
  /** prefix (5 hex) → suffix (35 hex) → count. */
  const byPrefix = new Map<string, Map<string, number>>();
  const recorded: HibpRequest[] = [];
  let delayMs = 0;
  const stopping = new AbortController();

  function addBreached(password: string, count = 1): { prefix: string; suffix: string } {
    const hash = sha1Hex(password);
    const prefix = hash.slice(0, 5);
    const suffix = hash.slice(5);
    const suffixes = byPrefix.get(prefix) ?? new Map<string, number>();
    suffixes.set(suffix, count);
    byPrefix.set(prefix, suffixes);
    return { prefix, suffix };
  }
  for (const [password, count] of Object.entries(BREACHED_PASSWORDS)) addBreached(password, count);

  const server = createServer(
    handle(async (req, res) => {
      const url = requestUrl(req);
      const route = `${req.method} ${url.pathname}`;
      if (route === "GET /__control/health") return sendJson(res, 200, { status: "ok" });
      if (route === "GET /__control/requests") return sendJson(res, 200, recorded);
      if (route === "DELETE /__control/requests") {
        recorded.length = 0;
        delayMs = 0;
        res.writeHead(204).end();
        return;
      }
      if (route === "POST /__control/breached") {
        const body = parseJson(await readBody(req)) as { password?: unknown; count?: unknown } | null;
        if (typeof body?.password !== "string") return sendJson(res, 400, { error: "expected {password}" });
        return sendJson(
          res,
          200,
          addBreached(body.password, typeof body.count === "number" ? body.count : undefined),
        );
      }
      if (route === "POST /__control/delay") {
        const body = parseJson(await readBody(req)) as { ms?: unknown } | null;
        if (typeof body?.ms !== "number" || body.ms < 0)
          return sendJson(res, 400, { error: "expected {ms}" });
        delayMs = body.ms;
        return sendJson(res, 200, { ms: delayMs });
      }

      const match = /^\/range\/([0-9a-fA-F]{5})$/.exec(url.pathname);
      if (req.method !== "GET" || !match?.[1]) {
        // The real API's answer to a malformed prefix.
        return sendText(res, 400, "The hash prefix was not in a valid format");
      }
      const prefix = match[1].toUpperCase();
      const addPadding = String(req.headers["add-padding"]).toLowerCase() === "true";
      recorded.push({ prefix, addPadding, receivedAt: new Date().toISOString() });

      if (delayMs > 0) {
        try {
          await sleep(delayMs, undefined, { signal: stopping.signal });
        } catch {
          return; // stopped while waiting
        }
        if (res.destroyed) return; // the caller timed out, as it should
      }

      const lines = [...(byPrefix.get(prefix) ?? new Map<string, number>())].map(([s, n]) => `${s}:${n}`);
      if (addPadding) {
        // Padding makes every answer a similar size so an observer cannot tell the prefix from the length.
        const padding = randomInt(800, 1001);
        for (let i = 0; i < padding; i++)
          lines.push(`${randomBytes(18).toString("hex").slice(0, 35).toUpperCase()}:0`);
      }
      lines.sort();
      sendText(res, 200, lines.join("\r\n"));
    }),
  );

  const port = await listen(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => [...recorded],
    addBreached: (password, count) => void addBreached(password, count),
    stop: async () => {
      stopping.abort();
      await closeServer(server);
    },
  };
}
