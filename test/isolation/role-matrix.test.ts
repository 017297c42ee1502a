/**
 * Role matrix, generated from the OpenAPI document the Worker serves.
 *
 * HOW A ROUTE DECLARES ITS REQUIRED ROLE — spread the marker from src/core/openapi.ts into its createRoute,
 * next to the middleware that enforces it:
 *
 *   createRoute({ method: "get", path: "/api/admin/stats", ...adminOnly,
 *                 middleware: [requireAuth, requireAdmin] as const, … })
 *
 * `adminOnly` adds `"x-required-role": "admin"` to the operation, `platformAdminOnly` adds
 * `"x-required-role": "platform-admin"`. This suite then checks, for every operation carrying the extension:
 * - no token → 401 UNAUTHENTICATED;
 * - `admin`: a MEMBER of the same workspace, using that workspace's own real ids (so only the role can refuse
 *   it) → 403 FORBIDDEN; and the workspace's ADMIN with the same request is not refused (neither 401, 403 nor
 *   404), which proves the 403 came from the role and the fixtures are real;
 * - `platform-admin`: a workspace ADMIN who is not a platform admin → 403 FORBIDDEN (and so is a MEMBER).
 * Every operation under /api/admin/ and /api/platform/ must declare a role: forgetting the marker fails here.
 * Path parameters come from the registry in ./fixtures.ts (the isolation suite's).
 */
import { describe, expect, it } from "vitest";
import { bodyFor, fixtureTenant, paramsFor } from "./fixtures";
import {
  callOperation,
  describeResult,
  loadOpenApi,
  minimalJsonBody,
  type Operation,
  operationsOf,
} from "./openapi-operations";

const ROLES = ["admin", "platform-admin"] as const;
const PREFIXES_NEEDING_A_ROLE = ["/api/admin/", "/api/platform/"];

const doc = await loadOpenApi();
const all = operationsOf(doc);
const roleOf = (o: Operation) => o.op["x-required-role"];
const adminOps = all.filter((o) => roleOf(o) === "admin");
const platformOps = all.filter((o) => roleOf(o) === "platform-admin");

console.log(
  `role matrix: ${adminOps.length} admin and ${platformOps.length} platform-admin operations ` +
    `(of ${all.length} in /docs/openapi.json)`,
);

async function expectUnauthenticated(operation: Operation, params: Record<string, string>, body: unknown) {
  const res = await callOperation(operation, params, { body });
  expect(res.status, `${operation.key} without a token: ${describeResult(res)}`).toBe(401);
  expect((res.body as { code?: string }).code).toBe("UNAUTHENTICATED");
}

function expectForbidden(operation: Operation, who: string, res: Awaited<ReturnType<typeof callOperation>>) {
  expect(res.status, `${operation.key} as ${who}: ${describeResult(res)}`).toBe(403);
  expect((res.body as { code?: string }).code, `${operation.key} as ${who}`).toBe("FORBIDDEN");
}

describe(`role matrix — ${adminOps.length} admin + ${platformOps.length} platform-admin operations, generated from /docs/openapi.json`, () => {
  it("every operation under /api/admin/ and /api/platform/ declares x-required-role, with a known value", () => {
    const undeclared = all
      .filter((o) => PREFIXES_NEEDING_A_ROLE.some((p) => o.path.startsWith(p)))
      .filter((o) => !roleOf(o))
      .map(
        (o) => `${o.key}: spread adminOnly or platformAdminOnly (src/core/openapi.ts) into its createRoute`,
      );
    expect(undeclared, undeclared.join("\n")).toEqual([]);
    const unknown = all.filter((o) => roleOf(o) && !ROLES.includes(roleOf(o) as (typeof ROLES)[number]));
    expect(unknown.map((o) => `${o.key}: ${roleOf(o)}`)).toEqual([]);
    // Declared roles only make sense on authenticated operations.
    expect(all.filter((o) => roleOf(o) && !o.op.security?.length).map((o) => o.key)).toEqual([]);
  });

  it("includes the audit API", () => {
    expect(adminOps.map((o) => o.key)).toContain("GET /api/admin/audit-events");
  });

  it.each(adminOps.map((o) => [o.key, o] as const))(
    "%s: 401 without a token, 403 FORBIDDEN for a MEMBER of the workspace, allowed for its ADMIN",
    async (_key, operation) => {
      const tenant = await fixtureTenant();
      const params = await paramsFor(operation, tenant);
      const body = bodyFor(operation, () => minimalJsonBody(doc, operation.op));

      await expectUnauthenticated(operation, params, body);
      expectForbidden(
        operation,
        "MEMBER",
        await callOperation(operation, params, { token: tenant.memberToken, body }),
      );

      const asAdmin = await callOperation(operation, params, { token: tenant.adminToken, body });
      expect(
        [401, 403, 404],
        `${operation.key} as the workspace's ADMIN should pass the role check: ${describeResult(asAdmin)}`,
      ).not.toContain(asAdmin.status);
    },
  );

  it.each(platformOps.map((o) => [o.key, o] as const))(
    "%s: 401 without a token, 403 FORBIDDEN for a workspace ADMIN or MEMBER who is not a platform admin",
    async (_key, operation) => {
      const tenant = await fixtureTenant();
      const params = await paramsFor(operation, tenant);
      const body = bodyFor(operation, () => minimalJsonBody(doc, operation.op));

      await expectUnauthenticated(operation, params, body);
      expectForbidden(
        operation,
        "ADMIN",
        await callOperation(operation, params, { token: tenant.adminToken, body }),
      );
      expectForbidden(
        operation,
        "MEMBER",
        await callOperation(operation, params, { token: tenant.memberToken, body }),
      );
    },
  );
});
