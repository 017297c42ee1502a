import { describe, expect, it } from "vitest";
import { checkOutboundUrl } from "../../src/core/outbound-url";

const production = { allowPrivate: false, ownOrigin: "https://api.example.com" };
const dev = { allowPrivate: true, ownOrigin: "http://127.0.0.1:8787" };

/** Each of these must be refused in production, without any traffic (the validator is a pure function). */
const HOSTILE = [
  "http://hooks.example.org/flow",
  "https://127.0.0.1/hook",
  "https://2130706433/hook",
  "https://0x7f.0.0.1/hook",
  "https://0177.0.0.1/hook",
  "https://127.1/hook",
  "https://0/hook",
  "https://0.0.0.0/hook",
  "https://10.0.0.8/hook",
  "https://172.16.5.4/hook",
  "https://192.168.1.1/hook",
  "https://169.254.169.254/latest/meta-data",
  "https://100.64.0.1/hook",
  "https://[::1]/hook",
  "https://[::]/hook",
  "https://[::ffff:127.0.0.1]/hook",
  "https://[::ffff:7f00:1]/hook",
  "https://[fe80::1]/hook",
  "https://[fd00::1]/hook",
  "https://localhost/hook",
  "https://LOCALHOST./hook",
  "https://app.localhost/hook",
  "https://printer.local/hook",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://router.home.arpa/hook",
  "https://intranet/hook",
  "https://hooks.example.org:8443/hook",
  "https://hooks.example.org:80/hook",
  "https://user:secret@hooks.example.org/hook",
  "https://api.example.com/api/auth/login",
  "https://API.example.com./hook",
  "https://internal.api.example.com/hook",
  "ftp://hooks.example.org/hook",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "not a url",
  `https://hooks.example.org/${"a".repeat(2100)}`,
];

describe("core/outbound-url", () => {
  it.each(HOSTILE)("refuses %s in production", (url) => {
    const result = checkOutboundUrl(url, production);
    expect(result.ok, JSON.stringify(result)).toBe(false);
  });

  it("accepts public https URLs on the default port", () => {
    for (const url of [
      "https://hooks.example.org/webhook/abc",
      "https://n8n.customer.io:443/webhook/persona?x=1",
      "https://xn--bcher-kva.example/hook",
    ]) {
      expect(checkOutboundUrl(url, production).ok, url).toBe(true);
    }
  });

  it("relaxes to http, loopback and any port with ALLOW_PRIVATE_WEBHOOKS, but still refuses other private IPs", () => {
    expect(checkOutboundUrl("http://127.0.0.1:45123/persona", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://localhost:5678/webhook", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://[::1]:5678/webhook", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://hooks.example.org:5678/webhook", dev).ok).toBe(true);
    expect(checkOutboundUrl("http://10.0.0.8/hook", dev).ok).toBe(false);
    expect(checkOutboundUrl("http://169.254.169.254/", dev).ok).toBe(false);
    expect(checkOutboundUrl("ftp://localhost/", dev).ok).toBe(false);
  });
});
