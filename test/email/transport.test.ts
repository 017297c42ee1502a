import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/logger";
import { createTransport, parseMailbox } from "../../src/email/transport";
import { loadConfig } from "../../src/env";

describe("email/transport", () => {
  it("parseMailbox splits SMTP_FROM into display name and bare address (MAIL FROM needs the address)", () => {
    expect(parseMailbox("AI-Persona <no-reply@localhost>")).toEqual({
      name: "AI-Persona",
      email: "no-reply@localhost",
    });
    expect(parseMailbox(`"Acme, Inc." <mail@acme.test>`)).toEqual({
      name: "Acme, Inc.",
      email: "mail@acme.test",
    });
    expect(parseMailbox("<mail@acme.test>")).toEqual({ email: "mail@acme.test" });
    expect(parseMailbox(" mail@acme.test ")).toEqual({ email: "mail@acme.test" });
    expect(() => parseMailbox("AI-Persona")).toThrow(/SMTP_FROM/);
    expect(() => parseMailbox("a@b.test\r\nRCPT TO:<c@d.test>")).toThrow(/SMTP_FROM/);
  });

  it("the log transport logs recipient, subject and links, and opens no connection", async () => {
    const lines: unknown[] = [];
    const log: Logger = {
      debug: () => {},
      info: (message, fields) => lines.push({ message, ...fields }),
      warn: () => {},
      error: () => {},
    };
    const transport = createTransport(loadConfig({ ...env, EMAIL_TRANSPORT: "log", SMTP_PORT: "1" }), log);
    await transport.send({
      to: "a@mail.test",
      subject: "Hi",
      text: "t",
      html: "<p>h</p>",
      links: ["http://127.0.0.1:8787/verify-email?token=x"],
      deliveryId: crypto.randomUUID(),
    });
    await transport.close();
    expect(lines).toEqual([
      {
        message: "email (log transport, not sent)",
        to: "a@mail.test",
        subject: "Hi",
        links: ["http://127.0.0.1:8787/verify-email?token=x"],
      },
    ]);
  });
});
