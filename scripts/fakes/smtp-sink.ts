/**
 * SMTP sink: a real SMTP server on loopback that accepts every mail and keeps it in memory, so the Worker's
 * real mail transport (worker-mailer over TCP) is exercised end to end. Tests read the mails over HTTP
 * (workerd cannot share memory with this process); `npm run dev` uses it with `print` as the mail catcher.
 *
 * Control API (its own HTTP port):
 *   GET    /messages?to=<email>  → Mail[] oldest first; `to` matches a recipient case-insensitively
 *   DELETE /messages             → 204, forgets every mail
 *   POST   /control {failNext:n, to?} → the next n transactions (to that recipient, when given) end with "451"
 *                                    (a temporary failure to retry); `to` keeps parallel tests from taking
 *                                    each other's scripted failures
 *   GET    /health               → {status:"ok"}
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { closeServer, handle, listen, parseJson, readBody, requestUrl, sendJson } from "./http.ts";

export type Mail = {
  id: string;
  /** The From header as written ("Name <address>"), or the envelope sender when there is none. */
  from: string;
  /** Envelope recipients (RCPT TO): what the transport really addressed, Bcc included. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Header names lower-cased; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  receivedAt: string;
  /** Every http(s) URL of the text part and of the html hrefs, de-duplicated, in order of appearance. */
  links: string[];
};

export type SmtpSinkOptions = {
  /** SMTP port; 0 or absent picks a free one. */
  port?: number;
  /** Control HTTP port; 0 or absent picks a free one. */
  controlPort?: number;
  /** Dev mode: print each mail's recipients, subject and links to stdout. */
  print?: boolean;
};

export type SmtpSink = {
  /** Control API base URL (same as controlUrl). */
  url: string;
  /** SMTP port (same as smtpPort). */
  port: number;
  smtpPort: number;
  controlUrl: string;
  controlPort: number;
  messages(): Mail[];
  stop(): Promise<void>;
};

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const mails: Mail[] = [];
  /** Scripted failures: recipient (lower-cased) or "*" for any mail → how many are left. */
  const failures = new Map<string, number>();
  const takeFailure = (recipients: string[]): boolean => {
    for (const key of [...recipients.map((r) => r.toLowerCase()), "*"]) {
      const left = failures.get(key) ?? 0;
      if (left > 0) {
        failures.set(key, left - 1);
        return true;
      }
    }
    return false;
  };

  const smtp = new SMTPServer({
    secure: false,
    // No AUTH and no STARTTLS in the EHLO answer: the local transport must work unauthenticated in clear
    // text, and advertising them would make clients try (and fail) to use them.
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    banner: "ai-persona smtp sink",
    // stop() should not wait the default 30 s for a client that keeps its connection open.
    closeTimeout: 200,
    onData(stream, session, callback) {
      // Parsing consumes the whole stream, which smtp-server needs before it can answer either way.
      simpleParser(stream)
        .then((parsed) => {
          if (takeFailure(session.envelope.rcptTo.map((rcpt) => rcpt.address))) {
            callback(
              Object.assign(new Error("Temporary failure (scripted by the test)"), { responseCode: 451 }),
            );
            return;
          }
          const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
          const text = parsed.text ?? "";
          const html = typeof parsed.html === "string" ? parsed.html : "";
          const mail: Mail = {
            id: randomUUID(),
            from: parsed.from?.text || envelopeFrom,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            subject: parsed.subject ?? "",
            text,
            html,
            headers: headerMap(parsed.headerLines),
            receivedAt: new Date().toISOString(),
            links: extractLinks(text, html),
          };
          mails.push(mail);
          if (options.print) printMail(mail);
          callback();
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
    },
  });

  // A client that drops its connection mid-session (workerd tearing down a test's isolate, a socket reset)
  // is the client's problem, not the sink's: without a listener, smtp-server's 'error' event would
  // throw and take the whole test run down with it.
  smtp.on("error", (error: Error) => {
    if (options.print) console.warn(`smtp sink: ${error.message}`);
  });

  const control = createServer(
    handle(async (req, res) => {
      const url = requestUrl(req);
      if (req.method === "GET" && url.pathname === "/health") return sendJson(res, 200, { status: "ok" });
      if (url.pathname === "/messages" && req.method === "GET") {
        const to = url.searchParams.get("to")?.toLowerCase();
        const found = to ? mails.filter((mail) => mail.to.some((rcpt) => rcpt.toLowerCase() === to)) : mails;
        return sendJson(res, 200, found);
      }
      if (url.pathname === "/messages" && req.method === "DELETE") {
        mails.length = 0;
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === "/control" && req.method === "POST") {
        const body = parseJson(await readBody(req)) as { failNext?: unknown; to?: unknown } | null;
        if (typeof body?.failNext !== "number" || !Number.isInteger(body.failNext) || body.failNext < 0) {
          return sendJson(res, 400, { error: "expected {failNext: non-negative integer, to?: email}" });
        }
        const key = typeof body.to === "string" ? body.to.toLowerCase() : "*";
        failures.set(key, body.failNext);
        return sendJson(res, 200, { failNext: body.failNext, to: key });
      }
      sendJson(res, 404, { error: "not found" });
    }),
  );

  const smtpPort = await new Promise<number>((resolve, reject) => {
    smtp.server.once("error", reject);
    smtp.listen(options.port ?? 0, "127.0.0.1", () => {
      smtp.server.off("error", reject);
      const address = smtp.server.address();
      if (typeof address === "object" && address) resolve(address.port);
      else reject(new Error("SMTP server has no TCP address"));
    });
  });
  const controlPort = await listen(control, options.controlPort ?? 0);
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  if (options.print) console.log(`[smtp] catching mail on 127.0.0.1:${smtpPort}, API at ${controlUrl}`);

  return {
    url: controlUrl,
    port: smtpPort,
    smtpPort,
    controlUrl,
    controlPort,
    messages: () => [...mails],
    stop: async () => {
      await Promise.all([new Promise<void>((resolve) => smtp.close(() => resolve())), closeServer(control)]);
    },
  };
}

function headerMap(lines: readonly { key: string; line: string }[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of lines) {
    // `line` is the raw header ("Subject: Hello"), possibly folded over several lines.
    const value = line
      .slice(line.indexOf(":") + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    const name = key.toLowerCase();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

/** Links a test (or a developer) would click: bare URLs in the text part and hrefs in the html part. */
export function extractLinks(text: string, html: string): string[] {
  const links = new Set<string>();
  for (const match of text.matchAll(/https?:\/\/[^\s<>"'`]+/g)) {
    // A URL at the end of a sentence or in brackets drags the punctuation along.
    links.add(match[0].replace(/[.,;:!?)\]}>]+$/, ""));
  }
  for (const match of html.matchAll(/href\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const href = decodeEntities((match[1] ?? match[2] ?? "").trim());
    if (/^https?:\/\//i.test(href)) links.add(href);
  }
  return [...links];
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number.parseInt(dec, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function printMail(mail: Mail): void {
  const lines = [`[smtp] ✉  to ${mail.to.join(", ")}`, `       subject: ${mail.subject}`];
  for (const link of mail.links) lines.push(`       → ${link}`);
  console.log(lines.join("\n"));
}
