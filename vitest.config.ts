import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const IGNORED_UNHANDLED = new Set([
  "Stream was cancelled.",
  "proxy request failed, cannot connect to the specified address",
]);

// A fixed, test-only master key (never used anywhere else).
const TEST_ENCRYPTION_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // node-postgres is CommonJS; the pool's bundle-less loader resolves its two dependencies' bare names through
  // their ESM conditions, which its `require` cannot load (brianc/node-postgres#3700, workers-sdk#8840). Point
  // them at their CommonJS builds (wrangler's esbuild bundle needs no such help).
  resolve: {
    alias: {
      "pg-protocol": here("./node_modules/pg-protocol/dist/index.js"),
      "pg-cloudflare": here("./node_modules/pg-cloudflare/dist/index.js"),
    },
  },
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        hyperdrives: { HYPERDRIVE: inject("pgUrl") },
        // wrangler.toml batches mail for up to 5 s (CONFIG.md); tests want each mail at once.
        queueConsumers: {
          "email-queue": {
            maxBatchSize: 10,
            maxBatchTimeout: 0.05,
            maxRetries: 3,
            deadLetterQueue: "email-dlq",
          },
          "email-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.05 },
        },
        bindings: {
          ENVIRONMENT: "test",
          APP_BASE_URL: "http://127.0.0.1:8787",
          CORS_ORIGIN: "http://frontend.test",
          ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
          PLATFORM_ADMIN_EMAILS: "platform-admin@platform.test",
          EMAIL_TRANSPORT: "smtp",
          SMTP_HOST: "127.0.0.1",
          SMTP_PORT: String(inject("smtpPort")),
          HIBP_API_URL: inject("hibpUrl"),
          GOOGLE_CLIENT_ID: "test-google-client",
          GOOGLE_CLIENT_SECRET: "test-google-secret",
          GOOGLE_ISSUER: inject("oidcUrl"),
          ALLOW_PRIVATE_WEBHOOKS: "true",
          WEBHOOK_TIMEOUT_MS: "3000",
          LOG_LEVEL: "warn",
          // For the test harness only (not read by src/).
          TEST_DATABASE_URL: inject("pgUrl"),
          SMTP_CONTROL_URL: inject("smtpControlUrl"),
          WEBHOOK_FAKE_URL: inject("webhookUrl"),
          HIBP_FAKE_URL: inject("hibpUrl"),
          OIDC_FAKE_URL: inject("oidcUrl"),
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    // Tests create their own tenants, so files may run in parallel; keep it to the machine's 2 cores.
    maxWorkers: 2,
    // Flows that wait for a mail through the real queue and SMTP sink take a second or two.
    testTimeout: 20_000,
    // Two harmless rejections of workerd sockets after the query itself was answered: a reader rejects with
    // "Stream was cancelled." after a request ended and workerd closed the socket (STACK.md), and a failed
    // connect (the 503 tests) also surfaces on the socket's `opened` promise. Only these exact messages are
    // ignored; every other unhandled error still fails the run.
    onUnhandledError: (error) => !IGNORED_UNHANDLED.has(error?.message ?? ""),
  },
});
