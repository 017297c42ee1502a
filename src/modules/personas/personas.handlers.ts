import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf, pendingCallerOf, readAfterAuth, tokenCallerOf } from "../../middleware/auth";
import type * as routes from "./personas.routes";
import * as personas from "./personas.service";

export const listPersonas: RouteHandler<typeof routes.listPersonas, AppEnv> = async (c) =>
  c.json(
    await readAfterAuth(c, (caller) => personas.listPersonas(depsFrom(c), caller, c.req.valid("query"))),
    200,
  );

export const getPersona: RouteHandler<typeof routes.getPersona, AppEnv> = async (c) =>
  c.json(await personas.getPersona(depsFrom(c), authOf(c), c.req.valid("param").id), 200);

export const toggleFavourite: RouteHandler<typeof routes.toggleFavourite, AppEnv> = async (c) =>
  c.json(await personas.toggleFavourite(depsFrom(c), tokenCallerOf(c), c.req.valid("param").id), 200);

export const createPersona: RouteHandler<typeof routes.createPersona, AppEnv> = async (c) =>
  c.json(await personas.createPersona(depsFrom(c), pendingCallerOf(c), c.req.valid("json")), 201);

export const updatePersona: RouteHandler<typeof routes.updatePersona, AppEnv> = async (c) =>
  c.json(
    await personas.updatePersona(
      depsFrom(c),
      pendingCallerOf(c),
      c.req.valid("param").id,
      c.req.valid("json"),
    ),
    200,
  );

export const deletePersona: RouteHandler<typeof routes.deletePersona, AppEnv> = async (c) => {
  await personas.deactivatePersona(depsFrom(c), pendingCallerOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const listDeliveries: RouteHandler<typeof routes.listDeliveries, AppEnv> = async (c) => {
  const personaId = c.req.valid("param").id;
  const { gateName, ...page } = await readAfterAuth(c, (caller) =>
    personas.listDeliveries(depsFrom(c), caller, personaId, c.req.valid("query")),
  );
  // After the check (readAfterAuth returned) and the 404: the gate is asked only for a caller allowed to.
  return c.json({ breaker: await personas.personaBreaker(depsFrom(c), gateName), ...page }, 200);
};
