import type { Env as WorkerEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    /** The Worker's bindings plus the loopback fakes' URLs that vitest.config.ts hands to the test pool. */
    interface Env extends WorkerEnv {
      TEST_DATABASE_URL: string;
      SMTP_CONTROL_URL: string;
      WEBHOOK_FAKE_URL: string;
      HIBP_FAKE_URL: string;
      OIDC_FAKE_URL: string;
    }
  }
}
