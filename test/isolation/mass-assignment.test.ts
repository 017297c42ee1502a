/**
 * Mass assignment, generated from the OpenAPI document: API.md makes every JSON body strict, so for EVERY
 * operation taking one, a valid body plus a privileged field the schema does not declare (role, workspaceId,
 * status, id, …) must be refused with 400 VALIDATION_FAILED naming that field — before anything runs. Callers
 * are the strongest the route admits (the workspace's ADMIN, or a platform admin where required) with the
 * workspace's own real ids, so only the body can be the reason for the refusal.
 * Per-route checks that nothing changed live with each module (e.g. test/users/profile.test.ts).
 */
import { describe, expect, it } from "vitest";
import { platformAdmin, signIn } from "../helpers/auth";
import { bodyFor, fixtureTenant, paramsFor } from "./fixtures";
import {
  callOperation,
  describeResult,
  loadOpenApi,
  minimalJsonBody,
  type OpenApiDocument,
  type Operation,
  operationsOf,
} from "./openapi-operations";

/** Fields an attacker would like to set; each is tried where the body schema does not declare it. */
const PRIVILEGED_FIELDS = [
  "id",
  "role",
  "status",
  "workspaceId",
  "email",
  "userId",
  "ownerId",
  "isPlatformAdmin",
  "createdAt",
] as const;

const doc = await loadOpenApi();
const withJsonBody = operationsOf(doc).filter((o) => o.op.requestBody?.content?.["application/json"]);

console.log(`mass assignment: ${withJsonBody.length} operations with a JSON body`);

type SchemaLike = {
  $ref?: string;
  properties?: Record<string, unknown>;
  oneOf?: SchemaLike[];
  anyOf?: SchemaLike[];
  allOf?: SchemaLike[];
};

/** Every property name any variant of the body schema declares. */
function declaredFields(document: OpenApiDocument, schema: SchemaLike | undefined, depth = 0): Set<string> {
  const names = new Set<string>();
  if (!schema || depth > 5) return names;
  const resolved = schema.$ref
    ? ((document.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")] ?? {}) as SchemaLike)
    : schema;
  for (const name of Object.keys(resolved.properties ?? {})) names.add(name);
  for (const part of [...(resolved.oneOf ?? []), ...(resolved.anyOf ?? []), ...(resolved.allOf ?? [])]) {
    for (const name of declaredFields(document, part, depth + 1)) names.add(name);
  }
  return names;
}

async function tokenFor(operation: Operation, tenantAdminToken: string): Promise<string | undefined> {
  if (!operation.op.security?.length) return undefined;
  if (operation.op["x-required-role"] === "platform-admin")
    return (await signIn(await platformAdmin())).accessToken;
  return tenantAdminToken;
}

describe(`mass assignment — ${withJsonBody.length} JSON-body operations, generated from /docs/openapi.json`, () => {
  it.each(withJsonBody.map((o) => [o.key, o] as const))(
    "%s refuses undeclared privileged fields with 400 VALIDATION_FAILED",
    async (_key, operation) => {
      const tenant = await fixtureTenant();
      const params = await paramsFor(operation, tenant);
      const token = await tokenFor(operation, tenant.adminToken);
      const base = bodyFor(operation, () => minimalJsonBody(doc, operation.op));
      const declared = declaredFields(doc, operation.op.requestBody?.content?.["application/json"]?.schema);
      const fields = PRIVILEGED_FIELDS.filter((field) => !declared.has(field));
      expect(typeof base === "object" && base !== null && !Array.isArray(base), `${operation.key} body`).toBe(
        true,
      );

      for (const field of fields) {
        const body = {
          ...(base as Record<string, unknown>),
          [field]: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10",
        };
        const res = await callOperation(operation, params, { token, body });
        expect(res.status, `${operation.key} with "${field}": ${describeResult(res)}`).toBe(400);
        const problem = res.body as { code?: string; errors?: unknown[] };
        expect(problem.code, `${operation.key} with "${field}"`).toBe("VALIDATION_FAILED");
        expect(JSON.stringify(problem.errors), `${operation.key}: errors[] should name "${field}"`).toContain(
          field,
        );
      }
    },
  );
});
