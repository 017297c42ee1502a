/**
 * The few HTTP helpers every fake shares. Plain node:http on purpose: the fakes must behave like the real
 * services on the wire (status codes, raw bodies, dropped sockets), which a framework would smooth over.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";

/** Listens on 127.0.0.1 only (nothing outside the machine may reach a fake); port 0 picks a free one. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      if (typeof address === "object" && address) resolve(address.port);
      else reject(new Error("server has no TCP address"));
    });
  });
}

/**
 * Closes a server at once: `close()` alone would wait for keep-alive sockets and for requests a fake holds
 * on purpose (hang, slow), which would keep the test process alive.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Parses a JSON body; null when it is empty or not JSON (the caller decides whether that is an error). */
export function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
}

/** Node's headers with repeated ones joined, so recorded requests are plain string maps. */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** The request URL parsed against a dummy base (req.url is only the path and query). */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? "/", "http://fake.invalid");
}

/** Wraps an async handler so a bug in a fake answers 500 with the message instead of crashing the runner. */
export function handle(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: "fake_failed", detail: String(error) });
      else res.destroy();
    });
  };
}
