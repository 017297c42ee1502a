/**
 * `npm run e2e` (CI: `node scripts/e2e/run.ts`): end-to-end checks against a real `wrangler dev`, outside workerd.
 *
 * Starts the stack like scripts/dev.ts (embedded Postgres on a free port in a child process, migrations, demo
 * seed, SMTP sink, HIBP and webhook fakes, wrangler dev on a free port), then:
 *   1. typed client: openapi-typescript generates types from the spec, tsc compiles scripts/e2e/typed-client
 *      against them, and node runs it (login + GET /api/users/me) against the Worker;
 *   2. schema check: real responses of the main flows are validated against the document's response schemas;
 *   3. browser: Debian chromium driven by playwright-core opens /docs, authorizes with a token, runs "Try it out"
 *      on GET /api/users/me, walks reset-password from the mailed link and accept-invite from an invitation.
 * Screenshots and artefacts land in .data/e2e/. Ends with "N passed, M failed".
 *
 * Never on port 8787; `npm run e2e` holds /tmp/vitest.lock (2 cores, shared machine); .ci/run calls
 * `npm run e2e:run` (no lock: CI is alone, and a caller may already hold the lock).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import openapiTS, { astToString } from "openapi-typescript";
import { chromium } from "playwright-core";
import { startHibpFake, startSmtpSink, startWebhookFake } from "../fakes/index.ts";
import { freePort } from "../lib/ports.ts";
import { startPostgres } from "../lib/postgres.ts";
import { spawnWranglerDev, waitUntilHealthy } from "../lib/wrangler.ts";
import { applyMigrations } from "../migrate.ts";
import { exportOpenApi } from "../openapi/export.ts";
import { prepareAssets } from "../prepare-assets.ts";
import { DEMO_USERS, seedDemo } from "../seed.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = join(root, ".data", "e2e");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const say = (message: string) => console.log(`[e2e] ${message}`);

const stops: Array<() => Promise<void>> = [];
const results: { name: string; ok: boolean; error?: string }[] = [];

async function check(name: string, fn: () => Promise<void>) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    say(`✓ ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    results.push({ name, ok: false, error: message });
    say(`✗ ${name}\n${message}`);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------------------------------------------------
// Response validation against the document
// ---------------------------------------------------------------------------------------------------------

type Document = {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
  >;
  components: Record<string, unknown>;
};

function makeValidator(document: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: "openapi.json", components: document.components });
  const rebase = (schema: unknown): unknown =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'));
  let checked = 0;
  const validate = async (method: string, path: string, res: Response): Promise<unknown> => {
    const operation = document.paths[path]?.[method.toLowerCase()];
    assert(operation, `${method} ${path} is not in the document`);
    const response = operation.responses?.[String(res.status)];
    assert(response, `${method} ${path} answered ${res.status}, which the document does not declare`);
    const text = await res.text();
    const contentType = (res.headers.get("Content-Type") ?? "").split(";")[0]?.trim() ?? "";
    if (!response.content) {
      assert(text === "", `${method} ${path} ${res.status}: body where the document declares none`);
      checked += 1;
      return undefined;
    }
    const media = response.content[contentType];
    assert(media, `${method} ${path} ${res.status}: Content-Type ${contentType} not declared`);
    const body = JSON.parse(text) as unknown;
    const schemaValidate = ajv.compile(rebase(media.schema ?? {}) as object);
    assert(
      schemaValidate(body),
      `${method} ${path} ${res.status} does not match its schema: ${ajv.errorsText(schemaValidate.errors)}\n${text.slice(0, 500)}`,
    );
    checked += 1;
    return body;
  };
  return { validate, count: () => checked };
}

// ---------------------------------------------------------------------------------------------------------

async function startStack() {
  prepareAssets();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const pg = await startPostgres({
    dataDir: join(out, "postgres"),
    port: await freePort(),
    database: "persona",
    persistent: false,
    fast: true,
  });
  stops.push(pg.stop);
  await applyMigrations(pg.url);
  const smtp = await startSmtpSink();
  stops.push(smtp.stop);
  const hibp = await startHibpFake();
  stops.push(hibp.stop);
  const webhook = await startWebhookFake({ demo: true });
  stops.push(webhook.stop);
  const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
  await seedDemo({ databaseUrl: pg.url, encryptionKey, webhookBaseUrl: webhook.url });

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const vars: Record<string, string> = {
    ENVIRONMENT: "development",
    APP_BASE_URL: baseUrl,
    ENCRYPTION_KEY: encryptionKey,
    PLATFORM_ADMIN_EMAILS: DEMO_USERS[0].email,
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.smtpPort),
    HIBP_API_URL: hibp.url,
  };
  const log: string[] = [];
  const dev = await spawnWranglerDev({
    port,
    pgUrl: pg.url,
    vars,
    persistTo: join(out, "wrangler"),
    stdio: "pipe",
  });
  dev.child.stdout?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  dev.child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  stops.push(async () => {
    writeFileSync(join(out, "wrangler.log"), log.join(""));
    await dev.stop();
  });
  await waitUntilHealthy(dev, 120_000, () => log.join("").slice(-2000));
  say(`stack up at ${baseUrl} (postgres, smtp sink, hibp + webhook fakes)`);
  return { baseUrl, smtp };
}

async function main() {
  const started = Date.now();
  const { baseUrl, smtp } = await startStack();
  const document = (await exportOpenApi(join(out, "openapi.json"), baseUrl)) as unknown as Document;
  const served = (await (await fetch(`${baseUrl}/docs/openapi.json`)).json()) as Document;
  const { validate, count } = makeValidator(document);
  const api = (method: string, path: string, body?: unknown, token?: string) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const mailTo = (to: string, subject: RegExp) =>
    waitFor(`a mail to ${to} matching ${subject}`, () =>
      smtp
        .messages()
        .filter((m) => m.to.includes(to) && subject.test(m.subject))
        .at(-1),
    );
  const [admin, member] = DEMO_USERS;

  await check("README lists every operation and every error code", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const missing = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .map((method) => `\`${method.toUpperCase()} ${path}\``)
        .filter((row) => !readme.includes(row)),
    );
    const catalogue = (await (
      await fetch(`${baseUrl}/docs/errors`, { headers: { Accept: "application/json" } })
    ).json()) as { items: { code: string }[] };
    missing.push(...catalogue.items.map((e) => `\`${e.code}\``).filter((code) => !readme.includes(code)));
    assert(missing.length === 0, `README.md (API overview / Error catalogue) lacks ${missing.join(", ")}`);
  });

  await check("the served document is the one the scripts export", async () => {
    assert(JSON.stringify(served.paths) === JSON.stringify(document.paths), "paths differ");
  });

  await check(
    "typed client (openapi-typescript + openapi-fetch) compiles and calls login and /api/users/me",
    async () => {
      const dir = join(out, "typed-client");
      mkdirSync(dir, { recursive: true });
      const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0]);
      writeFileSync(join(dir, "api.ts"), astToString(ast));
      copyFileSync(join(root, "scripts", "e2e", "typed-client", "client.ts"), join(dir, "client.ts"));
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            lib: ["ES2023", "DOM"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            types: ["node"],
            typeRoots: [join(root, "node_modules", "@types")],
            strict: true,
            noUncheckedIndexedAccess: true,
            allowImportingTsExtensions: true,
            verbatimModuleSyntax: true,
            noEmit: true,
            skipLibCheck: true,
          },
          files: ["client.ts", "api.ts"],
        }),
      );
      execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
        stdio: "inherit",
      });
      const output = execFileSync(
        process.execPath,
        [join(dir, "client.ts"), baseUrl, member.email, member.password],
        {
          encoding: "utf8",
        },
      );
      const result = JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as Record<string, unknown>;
      assert(result.email === member.email, `client saw ${output}`);
      assert(
        result.anonymous === 401 && result.problemCode === "UNAUTHENTICATED",
        `anonymous call: ${output}`,
      );
    },
  );

  let adminToken = "";
  let workspaceId = "";
  await check("main flows answer what the document declares (schemas validated)", async () => {
    await validate("GET", "/health", await api("GET", "/health"));
    await validate("GET", "/api/auth/health", await api("GET", "/api/auth/health"));
    await validate("GET", "/.well-known/jwks.json", await api("GET", "/.well-known/jwks.json"));
    await validate(
      "POST",
      "/api/auth/login",
      await api("POST", "/api/auth/login", { email: admin.email, password: "wrong-Password-1!" }),
    );
    const login = (await validate(
      "POST",
      "/api/auth/login",
      await api("POST", "/api/auth/login", { email: admin.email, password: admin.password }),
    )) as { accessToken: string; refreshToken: string };
    adminToken = login.accessToken;
    const me = (await validate(
      "GET",
      "/api/users/me",
      await api("GET", "/api/users/me", undefined, adminToken),
    )) as {
      workspaceId: string;
    };
    workspaceId = me.workspaceId;
    await validate("GET", "/api/users/me", await api("GET", "/api/users/me"));
    await validate(
      "GET",
      "/api/auth/sessions",
      await api("GET", "/api/auth/sessions", undefined, adminToken),
    );
    const personas = (await validate(
      "GET",
      "/api/personas",
      await api("GET", "/api/personas", undefined, adminToken),
    )) as {
      items: { id: string }[];
    };
    const persona = personas.items[0];
    assert(persona, "no persona seeded");
    const chat = (await validate(
      "POST",
      "/api/personas/{id}/chat",
      await api(
        "POST",
        `/api/personas/${persona.id}/chat`,
        { message: "Hello from the e2e check" },
        adminToken,
      ),
    )) as { conversationId: string };
    await validate(
      "GET",
      "/api/conversations/{id}",
      await api("GET", `/api/conversations/${chat.conversationId}`, undefined, adminToken),
    );
    await validate(
      "GET",
      "/api/conversations",
      await api("GET", "/api/conversations", undefined, adminToken),
    );
    await validate(
      "GET",
      "/api/workspaces/{id}",
      await api("GET", `/api/workspaces/${workspaceId}`, undefined, adminToken),
    );
    await validate(
      "GET",
      "/api/workspaces/{id}/members",
      await api("GET", `/api/workspaces/${workspaceId}/members`, undefined, adminToken),
    );
    await validate("GET", "/api/admin/stats", await api("GET", "/api/admin/stats", undefined, adminToken));
    await validate(
      "POST",
      "/api/auth/refresh",
      await api("POST", "/api/auth/refresh", { refreshToken: login.refreshToken }),
    );
    await validate("POST", "/api/auth/register", await api("POST", "/api/auth/register", { email: "x" }));
    await validate(
      "GET",
      "/api/personas/{id}",
      await api("GET", "/api/personas/01936f1e-0000-7000-8000-000000000000", undefined, adminToken),
    );
    say(`${count()} responses matched their schemas`);
  });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  stops.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on("pageerror", (error) => consoleErrors.push(error.message));

  await check(
    "browser: /docs lists the operations, authorizes, and Try it out on GET /api/users/me is 200",
    async () => {
      await page.goto(`${baseUrl}/docs`);
      await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
      const operations = await page.locator(".opblock").count();
      const expected = Object.values(document.paths).reduce(
        (n, methods) => n + Object.keys(methods).length,
        0,
      );
      assert(
        operations === expected,
        `Swagger UI shows ${operations} operations, the document has ${expected}`,
      );
      await page.screenshot({ path: join(out, "docs.png") });

      await page.locator("button.authorize").first().click();
      const modal = page.locator(".modal-ux");
      await modal.locator("input").first().fill(adminToken);
      await modal.locator("button.authorize").click();
      await modal.locator("button.btn-done, button.close-modal").first().click();

      const operation = page
        .locator(".opblock-get")
        .filter({ has: page.locator('[data-path="/api/users/me"]') });
      await operation.locator(".opblock-summary").first().click();
      await operation.locator("button.try-out__btn").click();
      await operation.locator("button.execute").click();
      const status = operation.locator(".live-responses-table .response .response-col_status").first();
      await status.waitFor({ timeout: 20_000 });
      const text = (await status.textContent())?.trim();
      await page.screenshot({ path: join(out, "docs-try-it-out.png"), fullPage: false });
      assert(text?.startsWith("200"), `Try it out answered ${text}`);
      const body = await operation
        .locator(".live-responses-table .response-col_description pre")
        .first()
        .textContent();
      assert(
        body?.includes(admin.email),
        `Try it out body does not show ${admin.email}: ${body?.slice(0, 200)}`,
      );
    },
  );

  await check("browser: reset-password from the mailed link sets a new password", async () => {
    await validate(
      "POST",
      "/api/auth/request-password-reset",
      await api("POST", "/api/auth/request-password-reset", { email: member.email }),
    );
    const mail = await mailTo(member.email, /password/i);
    const link = mail.links.find((l) => l.includes("/reset-password"));
    assert(link, `no reset link in ${mail.links.join(", ")}`);
    await page.goto(link);
    const newPassword = "Fresh-Member-Pass-2026!";
    await page.locator("#newPassword").fill(newPassword);
    await page.locator("#form button[type=submit]").click();
    await page.locator("#result:not([hidden])").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(out, "reset-password.png") });
    assert(
      (await page.locator("#result").getAttribute("class")) === "ok",
      String(await page.locator("#result").textContent()),
    );
    const login = await api("POST", "/api/auth/login", { email: member.email, password: newPassword });
    assert(login.status === 200, `login with the new password: ${login.status}`);
    await validate("POST", "/api/auth/login", login);
  });

  await check(
    "browser: accept-invite from the mailed invitation creates the account in the workspace",
    async () => {
      const invitee = "grace.e2e@acme.example";
      await validate(
        "POST",
        "/api/workspaces/{id}/members",
        await api(
          "POST",
          `/api/workspaces/${workspaceId}/members`,
          { email: invitee, role: "MEMBER" },
          adminToken,
        ),
      );
      const mail = await mailTo(invitee, /invit/i);
      const link = mail.links.find((l) => l.includes("/accept-invite"));
      assert(link, `no accept-invite link in ${mail.links.join(", ")}`);
      await page.goto(link);
      const password = "Grace-Hopper-Pass-2026!";
      await page.locator("#email").fill(invitee);
      await page.locator("#name").fill("Grace Hopper");
      await page.locator("#password").fill(password);
      await page.locator("#form button[type=submit]").click();
      await page.locator("#result:not([hidden])").waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(out, "accept-invite.png") });
      assert(
        (await page.locator("#result").getAttribute("class")) === "ok",
        String(await page.locator("#result").textContent()),
      );
      const login = await api("POST", "/api/auth/login", { email: invitee, password });
      assert(login.status === 200, `login as the invitee: ${login.status}`);
      const token = ((await validate("POST", "/api/auth/login", login)) as { accessToken: string })
        .accessToken;
      const me = (await validate(
        "GET",
        "/api/users/me",
        await api("GET", "/api/users/me", undefined, token),
      )) as {
        workspaceId: string;
      };
      assert(me.workspaceId === workspaceId, "the invitee is not in the inviting workspace");
    },
  );

  await check(
    "browser: verify-email from the mailed link asks for the password, then activates",
    async () => {
      const email = `ada.e2e.${Date.now()}@lovelace.example`;
      const password = "Analytical-Engine-1843!";
      await validate(
        "POST",
        "/api/auth/register",
        await api("POST", "/api/auth/register", { email, password, name: "Ada" }),
      );
      const mail = await mailTo(email, /confirm|verify/i);
      const link = mail.links.find((l) => l.includes("/verify-email"));
      assert(link, `no verify-email link in ${mail.links.join(", ")}`);
      await page.goto(link);
      // The page first asks (GET, which changes nothing) for whom the link is: the address, masked.
      await page.locator("#for-email:not([hidden])").waitFor({ timeout: 15_000 });
      const shown = await page.locator("#for-email").textContent();
      assert(shown?.includes("a***@lovelace.example"), `masked address not shown: ${shown}`);
      // A wrong password is refused and the link stays usable.
      await page.locator("#password").fill("Not-My-Password-2026!");
      await page.locator("#form button[type=submit]").click();
      await page.locator("#result.error").waitFor({ timeout: 15_000 });
      await page.locator("#password").fill(password);
      await page.locator("#form button[type=submit]").click();
      await page.locator("#result.ok").waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(out, "verify-email.png") });
      const login = await api("POST", "/api/auth/login", { email, password });
      assert(login.status === 200, `login after verifying: ${login.status}`);
    },
  );

  await check("browser: no page script errors", async () => {
    assert(consoleErrors.length === 0, consoleErrors.join("\n"));
  });

  const failed = results.filter((r) => !r.ok).length;
  writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 2));
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in .data/e2e/`);
  console.log(`e2e: ${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

let code = 1;
try {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  code = await main();
} catch (error) {
  console.error(`[e2e] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}
process.exit(code);
