/**
 * Mail templates: subject, HTML and plain text per template, rendered at send time from the delivery row.
 * Every template is described as structured content (greeting, paragraphs, one action link) and a single
 * renderer turns it into both parts, so no template writes HTML itself and every interpolated value goes
 * through the escaping `html` tag. Values are also stripped of control and bidi-override characters, which
 * could otherwise break the plain-text layout or disguise a name. No external images; links are absolute.
 */
import { z } from "zod";
import type { Config } from "../env";
import type { EmailInput, EmailParams, EmailTemplate } from "./outbox";

const PRODUCT = "AI-Persona";

// Link lifetimes the text promises (CONFIG.md "Lifetimes"); the auth services own the real expiries.
const VERIFY_LINK_VALIDITY = "24 hours";
const RESET_LINK_VALIDITY = "1 hour";
const INVITATION_VALIDITY = "7 days";

// --- parameter schemas -------------------------------------------------------------------------------------

const name = z.string().nullish();
const token = z.string().min(1).max(512);
const timestamp = z.iso.datetime({ offset: true });
const tokenOnly = z.strictObject({ token });

/** The secret params of one template, or `undefined` for templates without a token. */
type SecretParams<T extends EmailTemplate> =
  Extract<EmailInput, { template: T }> extends { secretParams: infer S } ? S : undefined;

type TemplateSchema<T extends EmailTemplate> = {
  params: z.ZodType<EmailParams<T>>;
  secret: SecretParams<T> extends undefined ? null : z.ZodType<SecretParams<T>>;
};
/** Any template's schema, for code that picks one by a runtime template name. */
type AnySchema = { params: z.ZodType; secret: z.ZodType | null };

/**
 * Runtime check of each template's params, typed against `EmailInput` so the two cannot drift. Strict objects:
 * a token put into `params` by mistake (stored in clear) is refused rather than silently kept.
 */
const SCHEMAS: { [T in EmailTemplate]: TemplateSchema<T> } = {
  "verify-email": { params: z.strictObject({ name }), secret: tokenOnly },
  "reset-password": { params: z.strictObject({ name }), secret: tokenOnly },
  "register-attempt": { params: z.strictObject({ name }), secret: null },
  "password-changed": { params: z.strictObject({ name }), secret: null },
  "deletion-scheduled": { params: z.strictObject({ name, purgeAfter: timestamp }), secret: tokenOnly },
  "invite-only-domain": {
    params: z.strictObject({ name, workspaceName: z.string(), domain: z.string() }),
    secret: null,
  },
  "workspace-deletion-scheduled": {
    params: z.strictObject({
      name,
      workspaceName: z.string(),
      purgeAfter: timestamp,
      reason: z.string().nullish(),
    }),
    secret: null,
  },
  invitation: {
    params: z.strictObject({
      workspaceName: z.string(),
      inviterName: z.string().nullish(),
      role: z.enum(["ADMIN", "MEMBER"]),
    }),
    secret: tokenOnly,
  },
};

const isTemplate = (value: string): value is EmailTemplate => Object.hasOwn(SCHEMAS, value);

// Anything that could end an SMTP command or header line, split an address, or hide in one.
const RECIPIENT = /^[^\s\p{Cc}<>"(),;:\\@]+@[^\s\p{Cc}<>"(),;:\\@]+$/u;

/** True for a plain `local@domain` address that is safe to put into SMTP commands and headers. */
export const isValidRecipient = (value: string): boolean => value.length <= 320 && RECIPIENT.test(value);

/** Thrown when a delivery cannot be rendered (unknown template, bad params): retrying would not help. */
export class EmailRenderError extends Error {
  override name = "EmailRenderError";
}

function issues(error: z.ZodError): string {
  // Paths and messages only: never the values, which may be tokens.
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/**
 * Checks an outbox input against its template (used by `queueEmail`, so a bad call fails the request that made
 * it instead of producing a mail that can never be sent).
 */
export function parseEmailInput(input: EmailInput): {
  recipient: string;
  params: Record<string, unknown>;
  secretParams: Record<string, unknown> | null;
} {
  if (!isValidRecipient(input.to))
    throw new Error(`queueEmail(${input.template}): invalid recipient address`);
  if (!isTemplate(input.template)) throw new Error(`queueEmail: unknown template ${String(input.template)}`);
  const schema = SCHEMAS[input.template] as AnySchema;
  const params = schema.params.safeParse(input.params);
  if (!params.success) throw new Error(`queueEmail(${input.template}): ${issues(params.error)}`);
  const raw = "secretParams" in input ? input.secretParams : undefined;
  if (!schema.secret) {
    if (raw !== undefined)
      throw new Error(`queueEmail(${input.template}): this template takes no secretParams`);
    return { recipient: input.to, params: params.data as Record<string, unknown>, secretParams: null };
  }
  const secret = schema.secret.safeParse(raw);
  if (!secret.success) throw new Error(`queueEmail(${input.template}): secretParams ${issues(secret.error)}`);
  return {
    recipient: input.to,
    params: params.data as Record<string, unknown>,
    secretParams: secret.data as Record<string, unknown>,
  };
}

// --- HTML escaping -----------------------------------------------------------------------------------------

const SAFE = Symbol("safe-html");
/** HTML produced by the `html` tag: its interpolations are already escaped. `String(x)` gives the markup. */
export type SafeHtml = { readonly [SAFE]: string; toString(): string };
type HtmlValue = string | number | SafeHtml | readonly SafeHtml[] | null | undefined | false;

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const isSafe = (value: unknown): value is SafeHtml =>
  typeof value === "object" && value !== null && SAFE in value;

/**
 * Tagged template that escapes every interpolated value unless it is itself `html` output (or an array of it),
 * so escaping cannot be forgotten. `null`, `undefined` and `false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    if (Array.isArray(value)) out += value.map((v) => v[SAFE]).join("");
    else if (isSafe(value)) out += value[SAFE];
    else if (value !== null && value !== undefined && value !== false) out += escapeHtml(String(value));
    out += strings[i + 1] ?? "";
  });
  return { [SAFE]: out, toString: () => out };
}

// --- content -----------------------------------------------------------------------------------------------

/** What a template says; the renderer lays it out as HTML and as text. */
type Content = {
  subject: string;
  /** The recipient's name, or null for "Hello,". */
  name: string | null;
  intro: string[];
  action?: { label: string; url: string };
  outro: string[];
};

/** A rendered mail, ready for the transport. `links` lists the absolute URLs it contains (for the log transport). */
export type RenderedEmail = { subject: string; text: string; html: string; links: string[] };

/**
 * Interpolated values: control characters (line breaks included — a subject is a header line) and bidi
 * overrides become spaces, whitespace is collapsed, and overly long values are cut.
 */
function clean(value: string, max = 200): string {
  const flat = value
    .replace(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const optionalName = (value: string | null | undefined): string | null => {
  const cleaned = value ? clean(value, 100) : "";
  return cleaned === "" ? null : cleaned;
};

/** ISO timestamp → "2026-09-01 12:00 UTC": unambiguous for every reader, no locale data needed. */
function formatDate(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function link(config: Config, path: string, tokenValue?: string): string {
  const base = `${config.FRONTEND_URL}${path}`;
  return tokenValue === undefined ? base : `${base}?token=${encodeURIComponent(tokenValue)}`;
}

type Builder<T extends EmailTemplate> = (
  config: Config,
  params: EmailParams<T>,
  secret: SecretParams<T>,
) => Content;
/** Any template's builder; its arguments were validated by the same template's schema. */
type AnyBuilder = (config: Config, params: never, secret: never) => Content;

const BUILDERS: { [T in EmailTemplate]: Builder<T> } = {
  "verify-email": (config, p, s) => ({
    subject: `Confirm your email address for ${PRODUCT}`,
    name: optionalName(p.name),
    intro: [`Thanks for signing up for ${PRODUCT}. Please confirm that this is your email address.`],
    action: { label: "Confirm email address", url: link(config, "/verify-email", s.token) },
    outro: [
      `The link is valid for ${VERIFY_LINK_VALIDITY}.`,
      "If you did not create an account, you can ignore this email.",
    ],
  }),

  "reset-password": (config, p, s) => ({
    subject: `Reset your ${PRODUCT} password`,
    name: optionalName(p.name),
    intro: [`We received a request to reset the password of your ${PRODUCT} account.`],
    action: { label: "Choose a new password", url: link(config, "/reset-password", s.token) },
    outro: [
      `The link is valid for ${RESET_LINK_VALIDITY} and works once.`,
      "If you did not ask for this, you can ignore this email: your password stays unchanged.",
    ],
  }),

  "register-attempt": (config, p) => ({
    subject: `Someone tried to sign up for ${PRODUCT} with your email address`,
    name: optionalName(p.name),
    intro: [
      `Someone, maybe you, tried to create a new ${PRODUCT} account with this email address. ` +
        "You already have an account, so nothing was changed.",
    ],
    action: { label: "Sign in or reset your password", url: link(config, "/reset-password") },
    outro: [
      "If it was you, sign in with your existing password, or request a password reset with the link above.",
      "If it was not you, you can ignore this email.",
    ],
  }),

  "password-changed": (config, p) => ({
    subject: `Your ${PRODUCT} password was changed`,
    name: optionalName(p.name),
    intro: [`The password of your ${PRODUCT} account was changed.`],
    action: { label: "Reset your password", url: link(config, "/reset-password") },
    outro: [
      "If you made this change, there is nothing to do.",
      "If you did not, reset your password now with the link above.",
    ],
  }),

  "deletion-scheduled": (config, p, s) => ({
    subject: `Your ${PRODUCT} account is scheduled for deletion`,
    name: optionalName(p.name),
    intro: [
      `As requested, your ${PRODUCT} account will be permanently deleted on ${formatDate(p.purgeAfter)}.`,
      "Until then you can cancel the deletion and keep your account.",
    ],
    action: { label: "Cancel the deletion", url: link(config, "/cancel-deletion", s.token) },
    outro: ["If you did not request this, cancel the deletion with the link above and change your password."],
  }),

  "invite-only-domain": (_config, p) => {
    const workspace = clean(p.workspaceName, 100);
    return {
      subject: `Ask for an invitation to join ${workspace}`,
      name: optionalName(p.name),
      intro: [
        `Your email address is verified. The ${PRODUCT} workspace ${workspace} of ${clean(p.domain, 100)} ` +
          "accepts only members who were invited, so we created a personal workspace for you in the meantime.",
        `To join ${workspace}, ask one of its admins to send you an invitation.`,
      ],
      outro: [],
    };
  },

  "workspace-deletion-scheduled": (_config, p) => {
    const workspace = clean(p.workspaceName, 100);
    const reason = p.reason ? clean(p.reason, 500) : "";
    return {
      subject: `Workspace ${workspace} is scheduled for deletion`,
      name: optionalName(p.name),
      intro: [
        `Deletion of the ${PRODUCT} workspace ${workspace} was requested. The workspace and everything in it ` +
          `will be permanently deleted on ${formatDate(p.purgeAfter)}.`,
        ...(reason ? [`Reason given: ${reason}`] : []),
      ],
      outro: [
        "As an admin of this workspace you can cancel the deletion until then.",
        "If you did not expect this, cancel it and check the workspace's audit log.",
      ],
    };
  },

  invitation: (config, p, s) => {
    const workspace = clean(p.workspaceName, 100);
    const inviter = optionalName(p.inviterName);
    const role = p.role === "ADMIN" ? "an admin" : "a member";
    return {
      subject: inviter
        ? `${inviter} invited you to ${workspace} on ${PRODUCT}`
        : `You are invited to ${workspace} on ${PRODUCT}`,
      name: null,
      intro: [
        `${inviter ?? "A colleague"} invited you to join the workspace ${workspace} on ${PRODUCT} as ${role}.`,
      ],
      action: { label: "Accept the invitation", url: link(config, "/accept-invite", s.token) },
      outro: [
        `The invitation is valid for ${INVITATION_VALIDITY}.`,
        "If you were not expecting it, you can ignore this email.",
      ],
    };
  },
};

// --- layout ------------------------------------------------------------------------------------------------

const FOOTER = `This is an automated message from ${PRODUCT}; replies are not read.`;

function renderHtml(content: Content): string {
  const paragraph = (text: string) => html`<p style="margin:0 0 16px">${text}</p>`;
  const action = content.action;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${content.subject}</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1f2328;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5">
<div style="max-width:560px;margin:0 auto">
${paragraph(content.name ? `Hello ${content.name},` : "Hello,")}
${content.intro.map(paragraph)}
${
  action &&
  html`<p style="margin:24px 0"><a href="${action.url}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">${action.label}</a></p>
<p style="margin:0 0 16px;font-size:13px;color:#57606a">If the button does not work, copy this link into your browser:<br><a href="${action.url}" style="color:#1f6feb;word-break:break-all">${action.url}</a></p>`
}
${content.outro.map(paragraph)}
<hr style="border:none;border-top:1px solid #d0d7de;margin:24px 0 12px">
<p style="margin:0;font-size:12px;color:#57606a">${FOOTER}</p>
</div>
</body>
</html>
`[SAFE];
}

function renderText(content: Content): string {
  const blocks = [content.name ? `Hello ${content.name},` : "Hello,", ...content.intro];
  if (content.action) blocks.push(`${content.action.label}:\n${content.action.url}`);
  blocks.push(...content.outro, `-- \n${FOOTER}`);
  return `${blocks.join("\n\n")}\n`;
}

/**
 * Renders a delivery row: validates its stored params and decrypted secret params against the template and
 * builds subject, HTML and text with absolute links under FRONTEND_URL.
 *
 * @throws EmailRenderError when the template is unknown or the params do not fit it (permanent: do not retry).
 */
export function renderEmail(
  config: Config,
  template: string,
  params: unknown,
  secretParams: unknown,
): RenderedEmail {
  if (!isTemplate(template)) throw new EmailRenderError(`unknown template ${clean(template, 60)}`);
  const schema = SCHEMAS[template] as AnySchema;
  const parsedParams = schema.params.safeParse(params);
  if (!parsedParams.success) throw new EmailRenderError(`params: ${issues(parsedParams.error)}`);
  let secret: unknown;
  if (schema.secret) {
    const parsedSecret = schema.secret.safeParse(secretParams);
    if (!parsedSecret.success) throw new EmailRenderError(`secret params: ${issues(parsedSecret.error)}`);
    secret = parsedSecret.data;
  }
  const build: AnyBuilder = BUILDERS[template];
  const content = build(config, parsedParams.data as never, secret as never);
  content.subject = clean(content.subject, 250);
  return {
    subject: content.subject,
    text: renderText(content),
    html: renderHtml(content),
    links: content.action ? [content.action.url] : [],
  };
}
