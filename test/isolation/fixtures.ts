/**
 * The fixture registry of the generated suites (tenant-isolation.test.ts, role-matrix.test.ts): for every path
 * parameter of the OpenAPI document, a real object of a given tenant.
 *
 * A path parameter the registry cannot resolve FAILS the suites, naming the operation — so a new route is
 * covered the day it is mounted, and its author only has to say which object its ids name:
 *
 * - `{id}` and other generic names: add the path prefix to PATH_FIXTURES (the longest matching prefix wins,
 *   and it applies to every path below it: "/api/personas/{id}" also covers "/api/personas/{id}/chat").
 * - a distinctive name (`{uid}`, `{invitationId}`, `{conversationId}`…): add it to PARAM_FIXTURES.
 * - one operation needing something special (its own ids, a body, or an expected status other than 404 for
 *   a random id): OPERATION_FIXTURES, keyed `<METHOD> <path>` exactly as in the document.
 *
 * Fixtures create what they need in the given tenant (directly in the database, or through the API as the
 * tenant's admin), once per tenant (memoised), so every test keeps its own tenants.
 */
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { randomToken, sha256Hex } from "../../src/core/crypto";
import { invitations, users } from "../../src/db/schema";
import { newAvatarKey } from "../../src/modules/users/avatar.service";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, type Tenant, unique } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import { conversationOf, messageOf, readyFileOf, shareLinkOf } from "./conversation-fixtures";
import type { Operation } from "./openapi-operations";

/** A tenant with signed-in ADMIN and MEMBER, plus lazily created objects for the fixtures. */
export type FixtureTenant = Tenant & {
  adminToken: string;
  memberToken: string;
  /** Memoised per tenant: `once("invitation", () => …)` creates the object on first use only. */
  once: (name: string, create: () => Promise<string>) => Promise<string>;
};

export type Resolver = (t: FixtureTenant) => string | Promise<string>;

export type OperationFixture = {
  /** Path values for this operation (take precedence over the prefix and name registries). */
  params?: Record<string, Resolver>;
  /** JSON body to send instead of the one derived from the request schema. */
  body?: unknown;
  /**
   * What a random id answers when it is not 404 NOT_FOUND (e.g. a route whose role check comes first for
   * everyone). Isolation still demands the foreign id get the very same answer.
   */
  randomIdStatus?: number;
  /** Not tenant data at all (e.g. a platform job name): excluded from the isolation suite, with the reason. */
  notTenantScoped?: string;
};

export async function fixtureTenant(): Promise<FixtureTenant> {
  const tenant = await createTenant();
  const [admin, member] = await Promise.all([signIn(tenant.admin), signIn(tenant.member)]);
  const memo = new Map<string, Promise<string>>();
  return {
    ...tenant,
    adminToken: admin.accessToken,
    memberToken: member.accessToken,
    once: (name, create) => {
      let value = memo.get(name);
      if (!value) {
        value = create();
        memo.set(name, value);
      }
      return value;
    },
  };
}

// --- objects the registry points at ----------------------------------------------------------------------

/** An open invitation of the tenant (inserted directly: the token itself is never needed). */
export const invitationOf = (t: FixtureTenant) =>
  t.once("invitation", async () => {
    const tokenHash = await sha256Hex(randomToken());
    const [row] = await withDb((db) =>
      db
        .insert(invitations)
        .values({
          workspaceId: t.workspace.id,
          email: `${unique("invitee")}@${t.workspace.domain}`,
          role: "MEMBER",
          tokenHash,
          invitedBy: t.admin.id,
          expiresAt: sql`now() + interval '7 days'`,
        })
        .returning({ id: invitations.id }),
    );
    if (!row) throw new Error("invitation insert returned nothing");
    return row.id;
  });

/** The tenant's MEMBER with a real avatar (R2 object + avatar_key), so a foreign avatar id is a live one. */
export const memberWithAvatar = (t: FixtureTenant) =>
  t.once("avatar", async () => {
    const key = newAvatarKey(t.workspace.id, t.member.id);
    const png = Uint8Array.from(
      atob(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
      ),
      (c) => c.charCodeAt(0),
    );
    await env.FILES.put(key, png, { httpMetadata: { contentType: "image/png" } });
    await withDb((db) => db.update(users).set({ avatarKey: key }).where(eq(users.id, t.member.id)));
    return t.member.id;
  });

/** A live session of the tenant's MEMBER other than the one the suites sign in with. */
export const memberSession = (t: FixtureTenant) =>
  t.once("session", async () => (await signIn(t.member)).sessionId);

/** A workspace persona, created through the API as the tenant's admin (its secrets are the API's business). */
export const workspacePersona = (t: FixtureTenant) =>
  t.once("persona", async () => {
    const res = await api("POST", "/api/personas", {
      token: t.adminToken,
      body: { scope: "workspace", name: `Isolation ${unique("p")}`, webhookUrl: env.WEBHOOK_FAKE_URL },
    });
    if (res.status !== 201) throw new Error(`persona fixture: POST /api/personas → ${describeResponse(res)}`);
    return res.body.id as string;
  });

// --- the registry ----------------------------------------------------------------------------------------

/** `{param}` of every path at or below a prefix; the longest matching prefix wins. */
export const PATH_FIXTURES: Record<string, Record<string, Resolver>> = {
  "/api/workspaces/{id}": { id: (t) => t.workspace.id },
  "/api/admin/users/{id}": { id: (t) => t.member.id },
  // A real job name (the role matrix must reach the role check, not the unknown-job 404).
  "/api/platform/jobs/{name}": { name: () => "tokens" },
  // Signature-based: without the owner's signature every id is the same 404 (DESIGN.md avatar URLs).
  "/api/users/{id}/avatar": { id: memberWithAvatar },
  "/api/personas/{id}": { id: workspacePersona },
  "/api/conversations/{id}": { id: conversationOf },
  "/api/messages/{id}": { id: messageOf },
  "/api/files/{id}": { id: readyFileOf },
};

/** Distinctive parameter names, wherever they appear. Generic names such as `id` never go here. */
export const PARAM_FIXTURES: Record<string, Resolver> = {
  uid: (t) => t.member.id,
  invitationId: invitationOf,
  sessionId: memberSession,
  shareId: shareLinkOf,
};

/** Per-operation overrides, keyed `<METHOD> <path>`. */
export const OPERATION_FIXTURES: Record<string, OperationFixture> = {
  // Capability URLs (API.md): possession of the token is the authorisation, whoever presents it; what must
  // stay tenant-bound is how a token is obtained (POST /api/conversations/{id}/share, …/files), covered here.
  "GET /p/{token}": { notTenantScoped: "public share link: the token itself is the authorisation" },
  "PUT /api/uploads/{token}": { notTenantScoped: "signed upload URL: the signature is the authorisation" },
  // Job names are global: no workspace owns a job (and only platform admins may call it).
  "POST /api/platform/jobs/{name}/run": { notTenantScoped: "platform job names are not workspace data" },
  // The schema's first scope is "global", which only platform admins may create.
  "POST /api/personas": {
    body: { scope: "workspace", name: "Role Matrix Persona", webhookUrl: env.WEBHOOK_FAKE_URL },
  },
};

/** The body an operation is called with: its override, else the one derived from its request schema. */
export const bodyFor = (operation: Operation, derived: () => unknown): unknown =>
  OPERATION_FIXTURES[operation.key]?.body ?? derived();

export class MissingFixtureError extends Error {}

function resolverFor(operation: Operation, param: string): Resolver {
  const own = OPERATION_FIXTURES[operation.key]?.params?.[param];
  if (own) return own;
  const prefixes = Object.keys(PATH_FIXTURES)
    .filter((prefix) => operation.path === prefix || operation.path.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    const resolver = PATH_FIXTURES[prefix]?.[param];
    if (resolver) return resolver;
  }
  const byName = PARAM_FIXTURES[param];
  if (byName) return byName;
  const prefix = operation.path.slice(0, operation.path.indexOf(`{${param}}`) + param.length + 2);
  const where =
    param === "id"
      ? `PATH_FIXTURES["${prefix}"]`
      : `PARAM_FIXTURES["${param}"] (or PATH_FIXTURES["${prefix}"])`;
  throw new MissingFixtureError(
    `${operation.key}: no fixture for the path parameter {${param}}. Add ${where} to test/isolation/fixtures.ts ` +
      `(or OPERATION_FIXTURES["${operation.key}"] for this operation only), returning the id of a real object ` +
      "of the given tenant.",
  );
}

/** Throws MissingFixtureError when any path parameter of the operation has no fixture. */
export function assertFixturesExist(operation: Operation): void {
  for (const param of operation.pathParams) resolverFor(operation, param);
}

/** The tenant's real ids for the operation's path parameters. */
export async function paramsFor(
  operation: Operation,
  tenant: FixtureTenant,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const param of operation.pathParams) values[param] = await resolverFor(operation, param)(tenant);
  return values;
}
