import { describe, expect, it } from "vitest";
import { RELAY_MAIL_DOMAINS } from "../../src/modules/auth/relay-mail-domains";
import { isPublicMailDomain } from "../../src/modules/auth/workspace-assignment.service";

describe("public mail domains (email-providers + relay and alias providers)", () => {
  it("counts the relay and alias providers the issue names as public", () => {
    for (const domain of [
      "fastmail.com",
      "tuta.io",
      "tutanota.com",
      "duck.com",
      "mozmail.com",
      "simplelogin.com",
      "passmail.net",
    ]) {
      expect(isPublicMailDomain(domain), domain).toBe(true);
      expect(RELAY_MAIL_DOMAINS, domain).toContain(domain);
    }
    // Still the package's list too, in any case.
    expect(isPublicMailDomain("gmail.com")).toBe(true);
    expect(isPublicMailDomain("Proton.Me")).toBe(true);
  });

  it("counts per-user subdomains of a relay provider, and nothing that merely looks like one", () => {
    expect(isPublicMailDomain("ada.anonaddy.com")).toBe(true);
    expect(isPublicMailDomain("ada.simplelogin.com")).toBe(true);
    for (const domain of ["notduck.com", "duck.com.acme.test", "acme.test", "mozmail.co"]) {
      expect(isPublicMailDomain(domain), domain).toBe(false);
    }
  });
});
