/**
 * Test data: every test makes its own tenant (workspace + users with unique emails), so tests never depend on
 * each other or on order, and Postgres needs no rollback between them.
 */

import { newId } from "../../src/core/ids";
import { hashPassword } from "../../src/core/password";
import { type User, users, type Workspace, workspaces } from "../../src/db/schema";
import { withDb } from "./db";

export const DEFAULT_PASSWORD = "Test-Passphrase-2026!";

// argon2id costs ~28 ms; the same password always verifies against one cached hash.
const hashCache = new Map<string, string>();
async function passwordHash(password: string) {
  let hash = hashCache.get(password);
  if (!hash) {
    hash = await hashPassword(password);
    hashCache.set(password, hash);
  }
  return hash;
}

/** A unique lower-case token for emails, domains and names. */
export const unique = (prefix = "t") => `${prefix}-${newId().slice(-12)}`;

export type UserSpec = {
  role?: "ADMIN" | "MEMBER";
  status?: User["status"];
  name?: string;
  email?: string;
  password?: string | null;
};

export type TestUser = User & { password: string | null };
export type Tenant = { workspace: Workspace; admin: TestUser; member: TestUser; users: TestUser[] };

/** Inserts a user into a workspace (ACTIVE and verified unless told otherwise). */
export async function createUser(workspace: Workspace, spec: UserSpec = {}): Promise<TestUser> {
  const password = spec.password === undefined ? DEFAULT_PASSWORD : spec.password;
  const email = spec.email ?? `${unique("user")}@${workspace.domain ?? "personal.test"}`;
  const [row] = await withDb(async (db) =>
    db
      .insert(users)
      .values({
        workspaceId: workspace.id,
        email,
        name: spec.name ?? "Test User",
        passwordHash: password === null ? null : await passwordHash(password),
        status: spec.status ?? "ACTIVE",
        role: spec.role ?? "MEMBER",
        emailVerifiedAt: new Date(),
        ...(spec.status === "PENDING_DELETION" ? { purgeAfter: new Date(Date.now() + 30 * 86_400_000) } : {}),
      })
      .returning(),
  );
  if (!row) throw new Error("user insert returned nothing");
  return { ...row, password };
}

/** A CORPORATE workspace on a unique domain with one ADMIN and one MEMBER (plus `extra` users). */
export async function createTenant(options: { extra?: UserSpec[]; name?: string } = {}): Promise<Tenant> {
  const domain = `${unique("corp")}.test`;
  const [workspace] = await withDb((db) =>
    db
      .insert(workspaces)
      .values({ name: options.name ?? "Test Corp", domain, kind: "CORPORATE" })
      .returning(),
  );
  if (!workspace) throw new Error("workspace insert returned nothing");
  const admin = await createUser(workspace, { role: "ADMIN", name: "Alice Admin" });
  const member = await createUser(workspace, { role: "MEMBER", name: "Bob Member" });
  const extra = [];
  for (const spec of options.extra ?? []) extra.push(await createUser(workspace, spec));
  return { workspace, admin, member, users: [admin, member, ...extra] };
}
