import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EmailInput } from "../../src/email/outbox";
import { EmailRenderError, escapeHtml, html, parseEmailInput, renderEmail } from "../../src/email/templates";
import { loadConfig } from "../../src/env";

const config = () => loadConfig(env);
const PURGE = "2026-09-01T12:30:00.000Z";

/** One input per template, with the subject and link each must produce. */
const CASES: { input: EmailInput; subject: RegExp; path?: string }[] = [
  {
    input: {
      template: "verify-email",
      to: "a@x.test",
      params: { name: "Ada" },
      secretParams: { token: "t1" },
    },
    subject: /^Confirm your email address/,
    path: "/verify-email",
  },
  {
    input: {
      template: "reset-password",
      to: "a@x.test",
      params: { name: "Ada" },
      secretParams: { token: "t2" },
    },
    subject: /^Reset your AI-Persona password$/,
    path: "/reset-password",
  },
  {
    input: { template: "register-attempt", to: "a@x.test", params: { name: "Ada" } },
    subject: /tried to sign up/,
    path: "/reset-password",
  },
  {
    input: { template: "password-changed", to: "a@x.test", params: { name: null } },
    subject: /password was changed/,
    path: "/reset-password",
  },
  {
    input: {
      template: "deletion-scheduled",
      to: "a@x.test",
      params: { name: "Ada", purgeAfter: PURGE },
      secretParams: { token: "t3" },
    },
    subject: /account is scheduled for deletion/,
    path: "/cancel-deletion",
  },
  {
    input: {
      template: "invite-only-domain",
      to: "a@x.test",
      params: { name: "Ada", workspaceName: "Acme", domain: "acme.test" },
    },
    subject: /^Ask for an invitation to join Acme$/,
  },
  {
    input: {
      template: "workspace-deletion-scheduled",
      to: "a@x.test",
      params: { name: "Ada", workspaceName: "Acme", purgeAfter: PURGE, reason: "moving on" },
    },
    subject: /^Workspace Acme is scheduled for deletion$/,
  },
  {
    input: {
      template: "invitation",
      to: "a@x.test",
      params: { workspaceName: "Acme", inviterName: "Bob", role: "ADMIN" },
      secretParams: { token: "t4" },
    },
    subject: /^Bob invited you to Acme on AI-Persona$/,
    path: "/accept-invite",
  },
];

const render = (input: EmailInput) =>
  renderEmail(
    config(),
    input.template,
    input.params,
    "secretParams" in input ? input.secretParams : undefined,
  );

describe("email/templates", () => {
  it.each(CASES)(
    "renders $input.template with subject, text, html and absolute links",
    ({ input, subject, path }) => {
      const mail = render(input);
      expect(mail.subject).toMatch(subject);
      expect(mail.text).toMatch(/^Hello/);
      expect(mail.html).toMatch(/^<!doctype html>/);
      expect(mail.html).not.toMatch(/<img|src=/i);
      if (path) {
        const token = "secretParams" in input ? input.secretParams.token : undefined;
        const expected = `${config().FRONTEND_URL}${path}${token ? `?token=${token}` : ""}`;
        expect(mail.links).toEqual([expected]);
        expect(mail.text).toContain(expected);
        expect(mail.html).toContain(`href="${expected}"`);
      } else {
        expect(mail.links).toEqual([]);
      }
    },
  );

  it("escapes every interpolated value in the HTML part", () => {
    const mail = render({
      template: "workspace-deletion-scheduled",
      to: "a@x.test",
      params: {
        name: `<script>alert("x")</script>`,
        workspaceName: `Acme & <b>Co</b>`,
        purgeAfter: PURGE,
        reason: `'"><img src=x onerror=alert(1)>`,
      },
    });
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).not.toContain("<b>Co</b>");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain("Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;,");
    expect(mail.html).toContain("Acme &amp; &lt;b&gt;Co&lt;/b&gt;");
    expect(mail.html).toContain("&#39;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    // The text part is plain text: shown as typed.
    expect(mail.text).toContain(`Hello <script>alert("x")</script>,`);
    expect(mail.text).toContain("Reason given: '\"><img src=x onerror=alert(1)>");
    expect(mail.text).toContain("2026-09-01 12:30 UTC");
  });

  it("URL-encodes tokens and builds links from FRONTEND_URL", () => {
    const custom = loadConfig({ ...env, FRONTEND_URL: "https://app.example.test/portal/" });
    const token = "a+b/c=d&e f";
    const mail = renderEmail(custom, "reset-password", { name: "Ada" }, { token });
    const [link] = mail.links;
    expect(link).toBe("https://app.example.test/portal/reset-password?token=a%2Bb%2Fc%3Dd%26e%20f");
    expect(new URL(link as string).searchParams.get("token")).toBe(token);
  });

  it("keeps subjects on one line and strips bidi overrides from names", () => {
    const mail = render({
      template: "invitation",
      to: "a@x.test",
      params: {
        workspaceName: "Acme\r\nBcc: victim@x.test",
        inviterName: "Bob\u202Egnp.exe",
        role: "MEMBER",
      },
      secretParams: { token: "t" },
    });
    expect(mail.subject).toBe("Bob gnp.exe invited you to Acme Bcc: victim@x.test on AI-Persona");
    expect(mail.text).toContain("as a member.");
    expect(mail.text).not.toContain("\u202E");
  });

  it("greets neutrally without a name and names no inviter it does not know", () => {
    const mail = render({
      template: "invitation",
      to: "a@x.test",
      params: { workspaceName: "Acme", inviterName: null, role: "MEMBER" },
      secretParams: { token: "t" },
    });
    expect(mail.subject).toBe("You are invited to Acme on AI-Persona");
    expect(mail.text).toMatch(/^Hello,\n\nA colleague invited you/);
  });

  it("refuses unknown templates and params that do not fit, without echoing values", () => {
    expect(() => renderEmail(config(), "nope", {}, undefined)).toThrow(EmailRenderError);
    expect(() => renderEmail(config(), "verify-email", { name: "A" }, undefined)).toThrow(EmailRenderError);
    expect(() =>
      renderEmail(config(), "deletion-scheduled", { purgeAfter: "tomorrow" }, { token: "secret-value" }),
    ).toThrow(/purgeAfter/);
    try {
      renderEmail(config(), "verify-email", { name: 1 }, { token: 42 });
    } catch (error) {
      expect((error as Error).message).not.toContain("42");
    }
  });

  it("parseEmailInput refuses tokens in params, stray secretParams and unsafe recipients", () => {
    const bad = (input: unknown) => () => parseEmailInput(input as EmailInput);
    expect(
      bad({
        template: "verify-email",
        to: "a@x.test",
        params: { name: "A", token: "t" },
        secretParams: { token: "t" },
      }),
    ).toThrow(/token/);
    expect(
      bad({ template: "password-changed", to: "a@x.test", params: {}, secretParams: { token: "t" } }),
    ).toThrow(/no secretParams/);
    expect(bad({ template: "password-changed", to: "a@x.test\r\nRCPT TO:<b@x.test>", params: {} })).toThrow(
      /recipient/,
    );
    expect(bad({ template: "password-changed", to: "Ada <a@x.test>", params: {} })).toThrow(/recipient/);
    expect(parseEmailInput({ template: "password-changed", to: "a@x.test", params: {} })).toEqual({
      recipient: "a@x.test",
      params: {},
      secretParams: null,
    });
  });

  it("html`` escapes interpolations but not nested html``", () => {
    const inner = html`<em>${"<x>"}</em>`;
    expect(String(html`<p>${inner}${[inner, inner]}${null}${false}${"&"}${1}</p>`)).toBe(
      "<p><em>&lt;x&gt;</em><em>&lt;x&gt;</em><em>&lt;x&gt;</em>&amp;1</p>",
    );
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});
