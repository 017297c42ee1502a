/**
 * Mail transports (CONFIG.md EMAIL_TRANSPORT): `smtp` speaks SMTP with worker-mailer over cloudflare:sockets;
 * `log` only logs recipient, subject and links (development; env.ts refuses it in production). A transport
 * lives for one queue batch: the SMTP connection is opened on the first send and closed with the batch —
 * sockets cannot be created at module scope or shared across invocations (STACK.md).
 */
import { LogLevel, type User, WorkerMailer, type WorkerMailerOptions } from "worker-mailer";
import { errorFields, type Logger } from "../core/logger";
import type { Config } from "../env";

export type OutgoingMail = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Absolute links in the mail; only the log transport uses them. */
  links: readonly string[];
  /** The email_deliveries id: the Message-ID is derived from it, so a re-sent mail carries the same one. */
  deliveryId: string;
};

export type MailTransport = {
  /** Sends one mail; rejects when the server did not accept it. */
  send(mail: OutgoingMail): Promise<void>;
  /** Releases the connection, if any. Never rejects. */
  close(): Promise<void>;
};

/**
 * worker-mailer uses this for the socket open and — because it reads `socketTimeoutMs` for both — for every
 * single server response too (its `responseTimeoutMs` option is ignored in 1.2.1).
 */
const SMTP_STEP_TIMEOUT_MS = 10_000;
/**
 * Upper bound of one send, connection included. It keeps a claimed row's SENDING window short and bounded,
 * which is what makes the consumer's stale-claim rule safe (see consumer.ts).
 */
export const SMTP_SEND_DEADLINE_MS = 30_000;
const SEND_TIMEOUT = "SMTP send timed out";
/** QUIT is a courtesy: never let it hold up the batch. */
const SMTP_CLOSE_DEADLINE_MS = 2_000;

/** The transport EMAIL_TRANSPORT selects, for one batch. */
export function createTransport(config: Config, log: Logger): MailTransport {
  if (config.EMAIL_TRANSPORT === "log") return createLogTransport(log);
  return new SmtpTransport(config, log);
}

function createLogTransport(log: Logger): MailTransport {
  return {
    async send(mail) {
      // Links carry live tokens: acceptable only because this transport is refused in production.
      log.info("email (log transport, not sent)", { to: mail.to, subject: mail.subject, links: mail.links });
    },
    async close() {},
  };
}

/**
 * "Name <address>", "\"Name, Inc.\" <address>" or a bare address → worker-mailer's User (it needs the bare
 * address for MAIL FROM). Control characters are refused: the name ends up in the From header.
 */
export function parseMailbox(value: string): User {
  const named =
    /^[ \t]*(?:"([^"\p{Cc}]*)"|([^"<\p{Cc}]*?))[ \t]*<([^<>\s\p{Cc}]+@[^<>\s\p{Cc}]+)>[ \t]*$/u.exec(value);
  if (named) {
    const name = (named[1] ?? named[2] ?? "").trim();
    const email = named[3] as string;
    return name ? { name, email } : { email };
  }
  const bare = value.trim();
  if (/^[^\s\p{Cc}<>"]+@[^\s\p{Cc}<>"]+$/u.test(bare)) return { email: bare };
  throw new Error("SMTP_FROM is not a valid mailbox");
}

/** SMTP over one lazily opened connection, reused for the batch's mails and dropped after any failure. */
class SmtpTransport implements MailTransport {
  readonly #options: WorkerMailerOptions;
  readonly #fromValue: string;
  readonly #log: Logger;
  /** The connection being opened or open; kept as the promise so close() also covers one still opening. */
  #connection: Promise<WorkerMailer> | null = null;

  constructor(config: Config, log: Logger) {
    this.#log = log;
    this.#fromValue = config.SMTP_FROM;
    this.#options = {
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      secure: config.SMTP_SECURE,
      // Upgrade with STARTTLS whenever the server offers it.
      startTls: true,
      // No credentials → no AUTH at all (the local sink does not advertise it). worker-mailer's default
      // authType list is empty, which would refuse every server that does, so name the methods.
      ...(config.SMTP_USER && config.SMTP_PASS
        ? {
            credentials: { username: config.SMTP_USER, password: config.SMTP_PASS },
            authType: ["plain", "login", "cram-md5"] as const satisfies WorkerMailerOptions["authType"],
          }
        : {}),
      socketTimeoutMs: SMTP_STEP_TIMEOUT_MS,
      // Failures reach us as rejections and are logged once, with the delivery id, by the consumer.
      logLevel: LogLevel.NONE,
    };
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await withDeadline(this.#deliver(mail), SMTP_SEND_DEADLINE_MS, SEND_TIMEOUT);
    } catch (error) {
      // Never reuse a session after a failure. After an SMTP error reply the server is responsive and gets a
      // proper QUIT. After a timeout it is not, and worker-mailer 1.2.1 keeps reading in the background: its
      // read loop spins without yielding once that socket reaches end-of-stream, which our QUIT and close
      // would cause. So a timed-out connection is abandoned — workerd releases it when the invocation ends
      // (long before an SMTP server's own idle timeout closes it).
      if (isTimeout(error)) this.#connection = null;
      else await this.close();
      throw error;
    }
  }

  async #deliver(mail: OutgoingMail): Promise<void> {
    // Parsed here, not in the constructor: a bad SMTP_FROM then fails each send (FAILED, retried, logged)
    // like any other SMTP misconfiguration, instead of throwing out of the whole batch.
    const from = parseMailbox(this.#fromValue);
    this.#connection ??= WorkerMailer.connect(this.#options);
    const mailer = await this.#connection;
    await mailer.send({
      from,
      to: { email: mail.to },
      // Already a single line (templates.ts); a header must never contain a line break.
      subject: mail.subject.replace(/[\r\n]+/g, " "),
      text: mail.text,
      html: mail.html,
      headers: {
        "Message-ID": `<${mail.deliveryId}@${from.email.split("@").pop()}>`,
        "Auto-Submitted": "auto-generated",
      },
    });
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = null;
    if (!connection) return;
    try {
      await withDeadline(
        connection.then((mailer) => mailer.close()),
        SMTP_CLOSE_DEADLINE_MS,
        "SMTP close timed out",
      );
    } catch (error) {
      // A connection that never opened, or a server that did not answer QUIT: nothing left to release.
      this.#log.debug("smtp connection closed with an error", errorFields(error));
    }
  }
}

/** Our deadline, or one of worker-mailer's own socket/response timeouts. */
function isTimeout(error: unknown): boolean {
  const message = error instanceof Error ? error.message : "";
  return (
    message === SEND_TIMEOUT ||
    /^(Socket timeout|Timeout while waiting for smtp server response)/.test(message)
  );
}

/** Rejects with `message` when `promise` has not settled within `ms`; clears its timer either way. */
async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
