/**
 * Which URLs the Worker may call on a customer's behalf (persona webhooks) — DESIGN.md "Outbound calls".
 * Checked when a URL is saved and again right before every call. The `global_fetch_strictly_public`
 * compatibility flag is the second line of defence (it refuses private addresses after DNS resolution, which
 * a string check cannot see); redirects are never followed by the caller.
 */

export type OutboundUrlPolicy = {
  /** ALLOW_PRIVATE_WEBHOOKS (dev and tests only): http, loopback hosts and any port are allowed. */
  allowPrivate: boolean;
  /** The API's own origin (APP_BASE_URL): a persona must never make the Worker call itself. */
  ownOrigin: string;
};

export type OutboundUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** Hostname suffixes that only resolve inside some network (RFC 6761/6762/8375 and common practice). */
const INTERNAL_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".intranet", ".corp", ".home.arpa"];
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const MAX_URL_LENGTH = 2048;

/**
 * Validates an outbound URL. Production rule: https, port 443, no credentials, a DNS name (never an IP
 * literal in any spelling — the WHATWG parser already turns `0x7f.1`, `2130706433` or `0177.0.0.1` into
 * dotted IPv4, and every IPv6 host is bracketed), not an internal name, not the API's own host.
 */
export function checkOutboundUrl(raw: string, policy: OutboundUrlPolicy): OutboundUrlCheck {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: "URL is too long" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in URLs are not allowed" };
  // A trailing dot is the same host to DNS ("localhost." is localhost).
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  const loopback = LOOPBACK_HOSTS.has(host);

  if (policy.allowPrivate && loopback && (url.protocol === "http:" || url.protocol === "https:")) {
    return { ok: true, url };
  }
  if (url.protocol !== "https:" && !(policy.allowPrivate && url.protocol === "http:")) {
    return { ok: false, reason: "only https URLs are allowed" };
  }
  if (url.port !== "" && !policy.allowPrivate)
    return { ok: false, reason: "only the default port (443) is allowed" };
  if (isIpLiteral(host)) return { ok: false, reason: "IP addresses are not allowed; use a DNS name" };
  if (host === "localhost" || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return { ok: false, reason: "internal host names are not allowed" };
  }
  if (!host.includes(".")) return { ok: false, reason: "the host must be a fully qualified domain name" };
  const own = new URL(policy.ownOrigin).hostname.toLowerCase().replace(/\.+$/, "");
  if (host === own || host.endsWith(`.${own}`))
    return { ok: false, reason: "the API's own host is not allowed" };
  return { ok: true, url };
}

/** IPv6 (always bracketed by the URL parser) or dotted IPv4 — after the parser's normalisation. */
function isIpLiteral(host: string): boolean {
  return host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}
