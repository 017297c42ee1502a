/**
 * Tenant isolation, generated from the OpenAPI document the Worker serves. For EVERY operation whose path has
 * a parameter (every method of every such path, today's and tomorrow's), workspace B's ADMIN — the strongest
 * role, so no role check can mask a leak — calls it with workspace A's real ids, and must get exactly the
 * answer a random UUID gets (status and body, trace id aside: 404 NOT_FOUND, never a hint that the object
 * exists). On paths with several parameters each one is also tried foreign on its own, the others being B's
 * own real ids (`/api/workspaces/{B}/members/{A's member}` — the classic nested IDOR).
 *
 * Afterwards nothing of A may have changed: every row of every tenant table and every R2 object under A's
 * prefixes (./snapshot.ts) is compared, and the nearest GET at or above the path is read again as A's admin.
 *
 * Ids come from the fixture registry (./fixtures.ts). A path parameter it does not know fails this suite with
 * a message saying where to add it — new routes never slip through uncovered.
 */
import { describe, expect, it } from "vitest";
import {
  assertFixturesExist,
  bodyFor,
  type FixtureTenant,
  fixtureTenant,
  MissingFixtureError,
  OPERATION_FIXTURES,
  paramsFor,
} from "./fixtures";
import {
  callOperation,
  comparable,
  describeResult,
  loadOpenApi,
  minimalJsonBody,
  type Operation,
  operationsOf,
} from "./openapi-operations";
import { snapshotTables, snapshotWorkspace } from "./snapshot";

const doc = await loadOpenApi();
const all = operationsOf(doc);
const withParams = all.filter((o) => o.pathParams.length > 0);
const covered = withParams.filter((o) => !OPERATION_FIXTURES[o.key]?.notTenantScoped);
const pathCount = new Set(covered.map((o) => o.path)).size;

console.log(
  `tenant isolation: ${covered.length} operations (path × method) on ${pathCount} parameterised paths, ` +
    `of ${all.length} operations in /docs/openapi.json`,
);

/** The nearest GET at or above the operation's path whose parameters we already hold (read-back as A). */
function readBackFor(operation: Operation): Operation | undefined {
  if (operation.method === "get") return undefined;
  const segments = operation.path.split("/");
  while (segments.length > 2) {
    const path = segments.join("/");
    const get = all.find((o) => o.path === path && o.method === "get");
    if (get?.op.security && get.pathParams.every((p) => operation.pathParams.includes(p))) return get;
    segments.pop();
  }
  return undefined;
}

const randomIds = (operation: Operation) =>
  Object.fromEntries(operation.pathParams.map((p) => [p, crypto.randomUUID()]));

describe(`tenant isolation — ${covered.length} operations on ${pathCount} paths, generated from /docs/openapi.json`, () => {
  it("has a fixture for every path parameter of every operation", () => {
    const missing: string[] = [];
    for (const operation of covered) {
      try {
        assertFixturesExist(operation);
      } catch (error) {
        if (error instanceof MissingFixtureError) missing.push(error.message);
        else throw error;
      }
    }
    expect(missing, missing.join("\n")).toEqual([]);
  });

  it("covers the routes this suite was written against, and snapshots every tenant table", () => {
    const keys = covered.map((o) => o.key);
    expect(keys).toContain("DELETE /api/auth/sessions/{sessionId}");
    expect(keys).toContain("GET /api/users/{id}/avatar");
    expect(snapshotTables()).toEqual(
      expect.arrayContaining(["audit_events", "invitations", "sessions", "users", "workspaces"]),
    );
  });

  it.each(covered.map((o) => [o.key, o] as const))(
    "%s: A's ids as B's admin answer exactly like random ids, and A is unchanged",
    async (_key, operation) => {
      const fixture = OPERATION_FIXTURES[operation.key] ?? {};
      const expectedRandomStatus = fixture.randomIdStatus ?? 404;
      const [a, b]: [FixtureTenant, FixtureTenant] = await Promise.all([fixtureTenant(), fixtureTenant()]);
      const aIds = await paramsFor(operation, a);
      const bIds = operation.pathParams.length > 1 ? await paramsFor(operation, b) : {};
      const body = bodyFor(operation, () => minimalJsonBody(doc, operation.op));
      const asB = { token: b.adminToken, body };

      const readBack = readBackFor(operation);
      const readBefore = readBack ? await callOperation(readBack, aIds, { token: a.adminToken }) : undefined;
      const before = await snapshotWorkspace(a.workspace.id);

      const random = await callOperation(operation, randomIds(operation), asB);
      expect(
        random.status,
        `${operation.key} with random ids answered ${describeResult(random)}, not ${expectedRandomStatus}: the ` +
          "request never reached the id lookup (fix the body, or declare OPERATION_FIXTURES in fixtures.ts)",
      ).toBe(expectedRandomStatus);
      const foreign = await callOperation(operation, aIds, asB);
      expect(
        comparable(foreign),
        `${operation.key} with workspace A's ids ${JSON.stringify(aIds)} as B's admin: ${describeResult(foreign)}`,
      ).toEqual(comparable(random));

      // Each parameter foreign on its own, the others B's own real ids.
      if (operation.pathParams.length > 1) {
        for (const param of operation.pathParams) {
          const ownRandom = await callOperation(operation, { ...bIds, [param]: crypto.randomUUID() }, asB);
          expect(ownRandom.status, `${operation.key} {${param}} random: ${describeResult(ownRandom)}`).toBe(
            expectedRandomStatus,
          );
          const mixed = { ...bIds, [param]: aIds[param] as string };
          const ownForeign = await callOperation(operation, mixed, asB);
          expect(
            comparable(ownForeign),
            `${operation.key} with ${JSON.stringify(mixed)} ({${param}} of A, the rest B's): ${describeResult(ownForeign)}`,
          ).toEqual(comparable(ownRandom));
        }
      }

      expect(await snapshotWorkspace(a.workspace.id), `${operation.key} changed workspace A`).toEqual(before);
      if (readBack && readBefore) {
        const readAfter = await callOperation(readBack, aIds, { token: a.adminToken });
        expect(comparable(readAfter), `${readBack.key} as A after ${operation.key}`).toEqual(
          comparable(readBefore),
        );
      }
    },
  );
});
