/**
 * The generated suites' view of the API: every operation of the served OpenAPI document (`GET /docs/openapi.json`,
 * the same document clients read), a minimal valid JSON body for each from its request schema, and a way to
 * call one with concrete path parameters.
 */
import { SELF } from "cloudflare:test";
import { unique } from "../helpers/factories";
import { BASE_URL } from "../helpers/request";

export const METHODS = ["get", "put", "post", "patch", "delete"] as const;
export type Method = (typeof METHODS)[number];

type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minLength?: number;
  minimum?: number;
  minItems?: number;
  pattern?: string;
};

export type OperationObject = {
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  "x-required-role"?: string;
};

export type OpenApiDocument = {
  paths: Record<string, Partial<Record<Method, OperationObject>>>;
  components?: { schemas?: Record<string, Schema> };
};

export type Operation = {
  /** `<METHOD> <path>`, e.g. `DELETE /api/auth/sessions/{sessionId}` — the key of per-operation fixtures. */
  key: string;
  method: Method;
  path: string;
  pathParams: string[];
  op: OperationObject;
};

/** The document exactly as the Worker serves it. */
export async function loadOpenApi(): Promise<OpenApiDocument> {
  const res = await SELF.fetch(`${BASE_URL}/docs/openapi.json`);
  if (res.status !== 200) throw new Error(`GET /docs/openapi.json → ${res.status}: ${await res.text()}`);
  return (await res.json()) as OpenApiDocument;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      out.push({ key: `${method.toUpperCase()} ${path}`, method, path, pathParams, op });
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

function resolve(doc: OpenApiDocument, schema: Schema | undefined): Schema {
  let current = schema ?? {};
  for (let depth = 0; current.$ref && depth < 10; depth++) {
    const name = current.$ref.replace("#/components/schemas/", "");
    current = doc.components?.schemas?.[name] ?? {};
  }
  return current;
}

/** A value the schema accepts: its example, enum or default first, else one built from the type. */
function sample(doc: OpenApiDocument, raw: Schema | undefined, depth = 0): unknown {
  const schema = resolve(doc, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum.find((v) => v !== null) ?? schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants?.length) {
    const nonNull = variants.find((v) => resolve(doc, v).type !== "null") ?? variants[0];
    return sample(doc, nonNull, depth + 1);
  }
  if (schema.allOf?.length) {
    return Object.assign({}, ...schema.allOf.map((part) => sample(doc, part, depth + 1) as object));
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "object" || schema.properties) return minimalObject(doc, schema, depth);
  if (type === "array") {
    return Array.from({ length: schema.minItems ?? 0 }, () => sample(doc, schema.items, depth + 1));
  }
  if (type === "integer" || type === "number") return schema.minimum ?? 1;
  if (type === "boolean") return true;
  if (type === "string") {
    switch (schema.format) {
      case "email":
        return `${unique("isolation")}@example.test`;
      case "uuid":
        return crypto.randomUUID();
      case "date-time":
        return new Date().toISOString();
      case "uri":
      case "url":
        return "https://example.test/";
      default:
        return "x".repeat(Math.max(1, schema.minLength ?? 1));
    }
  }
  return null;
}

/**
 * The required properties; when nothing is required (a PATCH-style body), the first property that documents
 * an example or enum, so the request is a real change rather than an empty body a route may refuse.
 */
function minimalObject(doc: OpenApiDocument, schema: Schema, depth: number): Record<string, unknown> {
  if (depth > 5) return {};
  const properties = schema.properties ?? {};
  const required = schema.required ?? [];
  const names = required.length
    ? required
    : Object.entries(properties)
        .filter(([, p]) => {
          const r = resolve(doc, p);
          return r.example !== undefined || r.enum !== undefined;
        })
        .map(([name]) => name)
        .slice(0, 1);
  return Object.fromEntries(names.map((name) => [name, sample(doc, properties[name], depth + 1)]));
}

/** The JSON body sent to an operation: derived from its request schema, `undefined` when it takes none. */
export function minimalJsonBody(doc: OpenApiDocument, op: OperationObject): unknown {
  const content = op.requestBody?.content;
  if (!content) return undefined;
  const json = content["application/json"];
  if (!json) return undefined;
  return sample(doc, json.schema) ?? {};
}

export type CallResult = { status: number; body: unknown; text: string; headers: Headers };

/** Calls an operation with concrete path values (and optionally a token and body). */
export async function callOperation(
  operation: Operation,
  params: Record<string, string>,
  options: { token?: string; body?: unknown } = {},
): Promise<CallResult> {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${operation.key}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  const headers = new Headers({ "CF-Connecting-IP": randomIp() });
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.body);
  }
  const res = await SELF.fetch(`${BASE_URL}${path}`, {
    method: operation.method.toUpperCase(),
    headers,
    body,
    redirect: "manual",
  });
  const text = new TextDecoder().decode(await res.arrayBuffer());
  let parsed: unknown = text;
  try {
    if (/\bjson\b|\+json/.test(res.headers.get("Content-Type") ?? "")) parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Status and body without the per-request trace id: what "the same answer" means. */
export function comparable(result: CallResult): { status: number; body: unknown } {
  if (result.body && typeof result.body === "object" && !Array.isArray(result.body)) {
    const { traceId: _traceId, ...rest } = result.body as Record<string, unknown>;
    return { status: result.status, body: rest };
  }
  return { status: result.status, body: result.body };
}

export const describeResult = (r: CallResult) => `${r.status} ${r.text.slice(0, 600)}`;

const randomIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;
