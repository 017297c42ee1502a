/**
 * The typed-client check (scripts/e2e/run.ts copies this file next to `api.ts`, the types openapi-typescript
 * generated from the document, compiles both with tsc, then runs it with node against the running Worker).
 * It only compiles if the spec types the login body, the login response and GET /api/users/me as used here.
 *
 * argv: baseUrl email password. Prints one JSON line.
 */
import createClient from "openapi-fetch";
import type { paths } from "./api.ts";

const [baseUrl, email, password] = process.argv.slice(2);
if (!baseUrl || !email || !password) throw new Error("usage: client.ts <baseUrl> <email> <password>");

const client = createClient<paths>({ baseUrl });

const login = await client.POST("/api/auth/login", { body: { email, password } });
if (!login.data) throw new Error(`login: ${login.response.status} ${JSON.stringify(login.error)}`);
const accessToken: string = login.data.accessToken;

const me = await client.GET("/api/users/me", { headers: { Authorization: `Bearer ${accessToken}` } });
if (!me.data) throw new Error(`GET /api/users/me: ${me.response.status} ${JSON.stringify(me.error)}`);
const profile: { id: string; email: string } = me.data;

const anonymous = await client.GET("/api/users/me");
const problemCode: string | undefined = anonymous.error?.code;

console.log(
  JSON.stringify({
    userId: profile.id,
    email: profile.email,
    anonymous: anonymous.response.status,
    problemCode,
  }),
);
