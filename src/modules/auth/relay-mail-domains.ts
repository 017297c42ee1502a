/**
 * Mail, relay and alias providers that `email-providers`' list (all.json) misses (issue 17). Their users are
 * strangers to each other exactly like gmail's, so they count as public: one PERSONAL workspace per user,
 * never a shared "domain" workspace under whoever signed up first.
 *
 * A domain matches when it is one of these or a subdomain of one: relay services hand out per-user
 * subdomains (`alias@ada.anonaddy.com`, `x@ada.simplelogin.com`), and the address's domain is then the
 * subdomain. Checked against all.json 1.x when written; add a provider here with where it came from.
 */
export const RELAY_MAIL_DOMAINS: readonly string[] = [
  // Fastmail (fastmail.fm is in all.json; fastmail.com, its main domain, is not).
  "fastmail.com",
  // Tuta (formerly Tutanota).
  "tuta.io",
  "tuta.com",
  "tutanota.com",
  "tutanota.de",
  "tutamail.com",
  "keemail.me",
  // DuckDuckGo Email Protection.
  "duck.com",
  // Firefox Relay.
  "mozmail.com",
  "relay.firefox.com",
  // SimpleLogin (Proton).
  "simplelogin.com",
  "simplelogin.co",
  "simplelogin.fr",
  "aleeas.com",
  "slmails.com",
  "silomails.com",
  "slmail.me",
  // Proton Pass aliases.
  "passmail.net",
  "passmail.com",
  "passinbox.com",
  "passfwd.com",
  // addy.io (formerly AnonAddy).
  "addy.io",
  "anonaddy.com",
  "anonaddy.me",
  // Other privacy mail providers missing from the list.
  "posteo.de",
  "posteo.net",
  "startmail.com",
  "skiff.com",
];

const RELAY_SET = new Set(RELAY_MAIL_DOMAINS);

/** True for a relay/alias provider's domain or any subdomain of one. */
export function isRelayMailDomain(domain: string): boolean {
  const labels = domain.toLowerCase().split(".");
  for (let start = 0; start < labels.length - 1; start++) {
    if (RELAY_SET.has(labels.slice(start).join("."))) return true;
  }
  return false;
}
