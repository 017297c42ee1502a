/**
 * Shared by the persona, relay and webhook tests: personas wired to the loopback webhook fake (one path per
 * test, so parallel tests never see each other's requests), scripting and reading the fake, row counts.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import type { Behaviour, RecordedRequest } from "../../scripts/fakes/webhook";
import { bytesToBase64, encrypt } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import { auditEvents, chatRuns, conversations, messages, type Persona, personas } from "../../src/db/schema";
import worker from "../../src/index";
import { withDb } from "../helpers/db";
import { unique } from "../helpers/factories";
import { api, BASE_URL } from "../helpers/request";

export const newSecret = (bytes = 32) =>
  `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(bytes)))}`;

/** A fresh path on the webhook fake. */
export const webhookPath = (label = "p") => `/t/${label}-${crypto.randomUUID()}`;

export async function scriptWebhook(path: string, behaviours: Behaviour[]): Promise<void> {
  const res = await fetch(`${env.WEBHOOK_FAKE_URL}/__control/script`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ path, behaviours }),
  });
  if (!res.ok) throw new Error(`scripting the webhook fake failed: ${res.status} ${await res.text()}`);
}

export async function webhookRequests(path: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${env.WEBHOOK_FAKE_URL}/__control/requests?path=${encodeURIComponent(path)}`);
  return (await res.json()) as RecordedRequest[];
}

export type TestPersona = Persona & { secret: string; path: string; url: string };

/**
 * Inserts an active persona whose webhook is `path` on the fake (stored exactly like the API stores it:
 * AES-GCM with the persona id as context). `workspaceId: null` makes a global persona.
 */
export async function createPersonaRow(
  options: {
    workspaceId?: string | null;
    name?: string;
    slug?: string;
    path?: string;
    url?: string;
    secret?: string;
    isActive?: boolean;
    breakerOpenUntil?: Date | null;
  } = {},
): Promise<TestPersona> {
  const id = newId();
  const path = options.path ?? webhookPath();
  const url = options.url ?? `${env.WEBHOOK_FAKE_URL}${path}`;
  const secret = options.secret ?? newSecret();
  const key = env.ENCRYPTION_KEY as string;
  const [row] = await withDb(async (db) =>
    db
      .insert(personas)
      .values({
        id,
        workspaceId: options.workspaceId ?? null,
        slug: options.slug ?? unique("persona"),
        name: options.name ?? `Persona ${unique("n")}`,
        traits: ["curious"],
        webhookUrlEncrypted: await encrypt(key, "webhook-url", url, id),
        webhookSecretEncrypted: await encrypt(key, "webhook-secret", secret, id),
        isActive: options.isActive ?? true,
        breakerOpenUntil: options.breakerOpenUntil ?? null,
      })
      .returning(),
  );
  if (!row) throw new Error("persona insert returned nothing");
  return { ...row, secret, path, url };
}

export function chat(
  token: string,
  personaId: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return api("POST", `/api/personas/${personaId}/chat`, { token, body, headers });
}

/**
 * A chat through the Worker's own `fetch` with its own execution context (awaited), optionally with a
 * modified copy of the bindings (e.g. a shorter WEBHOOK_TIMEOUT_MS). Also what the parallel bursts use:
 * dozens of concurrent SELF.fetch calls that include early 429s can stall the pool after the file's tests
 * pass (cloudflare/workers-sdk#15498), the direct call does not.
 */
export async function chatDirect(
  token: string,
  personaId: string,
  body: Record<string, unknown>,
  overrides: Record<string, string> = {},
) {
  const ctx = createExecutionContext();
  const started = Date.now();
  const res = await worker.fetch(
    new Request(new URL(`/api/personas/${personaId}/chat`, BASE_URL), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    { ...env, ...overrides },
    ctx,
  );
  const elapsedMs = Date.now() - started;
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: text ? JSON.parse(text) : null, text, headers: res.headers, elapsedMs };
}

/** Rows a chat may create, for "nothing stored" assertions. */
export async function chatFootprint(personaId: string) {
  return withDb(async (db) => {
    const [convs] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(conversations)
      .where(eq(conversations.personaId, personaId));
    const [msgs] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(eq(conversations.personaId, personaId));
    const [runs] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(chatRuns)
      .where(eq(chatRuns.personaId, personaId));
    return { conversations: convs?.n ?? 0, messages: msgs?.n ?? 0, runs: runs?.n ?? 0 };
  });
}

export async function auditTypesFor(targetId: string): Promise<string[]> {
  const rows = await withDb((db) =>
    db
      .select({ type: auditEvents.eventType })
      .from(auditEvents)
      .where(eq(auditEvents.targetId, targetId))
      .orderBy(auditEvents.createdAt),
  );
  return rows.map((r) => r.type);
}

export async function auditEventsOf(workspaceId: string | null, type: string) {
  return withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(
        and(
          workspaceId === null
            ? sql`${auditEvents.workspaceId} IS NULL`
            : eq(auditEvents.workspaceId, workspaceId),
          eq(auditEvents.eventType, type),
        ),
      ),
  );
}

/** HMAC-SHA256 with raw key bytes, as a receiver would compute it. */
export async function hmacBytes(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(data)));
}

export function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
}

/** Every page of GET /api/personas (the global catalogue grows with other test files). */
export async function listAllPersonas(token: string, query = ""): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", "100");
    if (cursor) params.set("cursor", cursor);
    const res = await api("GET", `/api/personas?${params}`, { token });
    if (res.status !== 200) throw new Error(`list failed: ${res.status} ${res.text}`);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}
