/**
 * The browser binding of a Google flow and the link ticket, both sealed with the "oauth-state" subkey of
 * ENCRYPTION_KEY (AES-256-GCM: authenticated like a signature, and opaque, so neither the PKCE verifier nor a
 * user id can be read from a cookie or URL that leaks into a log). Each kind of value has its own
 * additional-data context, so a ticket can never be replayed as a cookie or the other way round.
 */
import { z } from "zod";
import { decrypt, encrypt, randomToken } from "../../core/crypto";

/** The cookie: path-scoped to the Google routes, so no other request ever carries it. */
export const FLOW_COOKIE = "oauth_flow";
export const FLOW_COOKIE_PATH = "/api/auth/google";
/** Time to get through Google's account chooser and consent screen. */
export const FLOW_TTL_SECONDS = 10 * 60;
/** The link ticket is followed at once by the frontend; a short life keeps a leaked URL useless. */
export const LINK_TICKET_TTL_SECONDS = 2 * 60;

const COOKIE_CONTEXT = "oauth-flow-cookie";
const TICKET_CONTEXT = "oauth-link-ticket";

const LinkBinding = z.object({ userId: z.uuid(), sessionId: z.uuid() });
export type LinkBinding = z.infer<typeof LinkBinding>;

const FlowState = z.object({
  state: z.string().min(20),
  nonce: z.string().min(20),
  codeVerifier: z.string().min(43),
  /** Present for a link flow: the signed-in user (and session) that started it. */
  link: LinkBinding.optional(),
  /** Expiry, epoch seconds (the cookie's Max-Age is only a hint to the browser). */
  exp: z.number().int(),
});
export type FlowState = z.infer<typeof FlowState>;

/** `jti` names the ticket once it is used (user_tokens OAUTH_LINK): a link URL starts one flow only. */
const LinkTicket = LinkBinding.extend({ jti: z.string().min(20), exp: z.number().int() });
export type OpenedLinkTicket = { binding: LinkBinding; jti: string; expiresAt: Date };

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function open<T>(
  schema: z.ZodType<T & { exp: number }>,
  key: string,
  value: string,
  context: string,
): Promise<T | null> {
  let plain: string;
  try {
    plain = await decrypt(key, "oauth-state", value, context);
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(plain);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success || parsed.data.exp <= nowSeconds()) return null;
  return parsed.data;
}

export function sealFlow(key: string, flow: Omit<FlowState, "exp">): Promise<string> {
  const sealed: FlowState = { ...flow, exp: nowSeconds() + FLOW_TTL_SECONDS };
  return encrypt(key, "oauth-state", JSON.stringify(sealed), COOKIE_CONTEXT);
}

/** The flow of this browser, or null when the cookie is missing, forged, from another key or expired. */
export function openFlow(key: string, value: string | undefined): Promise<FlowState | null> {
  return value ? open(FlowState, key, value, COOKIE_CONTEXT) : Promise.resolve(null);
}

export function sealLinkTicket(key: string, binding: LinkBinding): Promise<string> {
  return encrypt(
    key,
    "oauth-state",
    JSON.stringify({ ...binding, jti: randomToken(), exp: nowSeconds() + LINK_TICKET_TTL_SECONDS }),
    TICKET_CONTEXT,
  );
}

export async function openLinkTicket(key: string, value: string): Promise<OpenedLinkTicket | null> {
  const ticket = await open(LinkTicket, key, value, TICKET_CONTEXT);
  if (!ticket) return null;
  return {
    binding: { userId: ticket.userId, sessionId: ticket.sessionId },
    jti: ticket.jti,
    expiresAt: new Date(ticket.exp * 1000),
  };
}
