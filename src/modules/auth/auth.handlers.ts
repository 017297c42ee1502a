import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom, inBackground } from "../../core/deps";
import { enforceRateLimit } from "../../core/rate-limit";
import { authOf, tokenCallerOf } from "../../middleware/auth";
import * as account from "./account.service";
import type * as routes from "./auth.routes";
import * as loginService from "./login.service";
import * as registration from "./registration.service";
import * as sessionService from "./sessions.service";

export const register: RouteHandler<typeof routes.register, AppEnv> = async (c) => {
  const deps = depsFrom(c);
  const input = c.req.valid("json");
  // Keyed by the HMAC of the address whatever its state, so a 429 tells nothing about it.
  await enforceRateLimit(deps, "REGISTER_EMAIL", input.email);
  const prepared = await registration.prepareRegistration(deps, input);
  // Holding a live invitation token for this address proves the mailbox: its account is active before the
  // answer, so that login works at once. Everything else is stored beside the response: a new, a pending and
  // a verified address take different numbers of round trips, and the answer must not tell them apart.
  if (prepared.invited) await registration.register(deps, prepared);
  else inBackground(deps, "registration", (background) => registration.register(background, prepared));
  return c.json({ message: registration.REGISTER_MESSAGE }, 202);
};

export const verificationStatus: RouteHandler<typeof routes.verificationStatus, AppEnv> = async (c) =>
  c.json(await registration.inspectVerification(depsFrom(c), c.req.valid("query").token), 200);

export const verifyEmail: RouteHandler<typeof routes.verifyEmail, AppEnv> = async (c) => {
  const { token, password } = c.req.valid("json");
  return c.json(await registration.verifyEmail(depsFrom(c), token, password), 200);
};

export const resendVerification: RouteHandler<typeof routes.resendVerification, AppEnv> = async (c) => {
  const deps = depsFrom(c);
  const { email } = c.req.valid("json");
  // Keyed by the HMAC of the address (enforceRateLimit hashes email scopes), known or not.
  await Promise.all([
    enforceRateLimit(deps, "RESEND_EMAIL", email),
    enforceRateLimit(deps, "REGISTER_EMAIL", email),
  ]);
  // After the response: only a pending address has work to do, and the answer must not take longer for it.
  inBackground(deps, "verification resend", (background) =>
    registration.resendVerification(background, email),
  );
  return c.json({ message: registration.RESEND_MESSAGE }, 202);
};

export const login: RouteHandler<typeof routes.login, AppEnv> = async (c) =>
  c.json(await loginService.login(depsFrom(c), c.req.valid("json")), 200);

export const refresh: RouteHandler<typeof routes.refresh, AppEnv> = async (c) =>
  c.json(await sessionService.refreshSession(depsFrom(c), c.req.valid("json").refreshToken), 200);

export const logout: RouteHandler<typeof routes.logout, AppEnv> = async (c) => {
  const caller = tokenCallerOf(c);
  await sessionService.revokeOwnSession(depsFrom(c), caller, caller.sessionId, "logout");
  return c.body(null, 204);
};

export const listSessions: RouteHandler<typeof routes.listSessions, AppEnv> = async (c) =>
  c.json({ items: await sessionService.listSessions(depsFrom(c), authOf(c)) }, 200);

export const revokeSession: RouteHandler<typeof routes.revokeSession, AppEnv> = async (c) => {
  const sessionId = c.req.valid("param").sessionId.toLowerCase();
  const caller = tokenCallerOf(c);
  const reason = sessionId === caller.sessionId ? "logout" : "user_revoked";
  await sessionService.revokeOwnSession(depsFrom(c), caller, sessionId, reason);
  return c.body(null, 204);
};

export const requestPasswordReset: RouteHandler<typeof routes.requestPasswordReset, AppEnv> = async (c) => {
  const deps = depsFrom(c);
  const { email } = c.req.valid("json");
  await enforceRateLimit(deps, "RESET_REQUEST_EMAIL", email);
  // Beside the response: only an ACTIVE account has work to do (token, audit, mail), and the answer must not
  // take longer for it.
  inBackground(deps, "password reset request", (background) =>
    account.requestPasswordReset(background, email),
  );
  return c.json({ message: account.RESET_REQUEST_MESSAGE }, 202);
};

export const resetPassword: RouteHandler<typeof routes.resetPassword, AppEnv> = async (c) => {
  const { token, newPassword } = c.req.valid("json");
  await account.resetPassword(depsFrom(c), token, newPassword);
  return c.json({ message: "Your password was changed. Sign in with the new one." }, 200);
};

export const deactivate: RouteHandler<typeof routes.deactivate, AppEnv> = async (c) => {
  await account.deactivateSelf(depsFrom(c), authOf(c), c.req.valid("json").password);
  return c.json({ message: "Your account is deactivated." }, 200);
};

export const deleteAccount: RouteHandler<typeof routes.deleteAccount, AppEnv> = async (c) =>
  c.json(await account.requestAccountDeletion(depsFrom(c), authOf(c), c.req.valid("json").password), 202);

export const cancelDeletion: RouteHandler<typeof routes.cancelDeletion, AppEnv> = async (c) =>
  c.json(await account.cancelDeletion(depsFrom(c), c.req.valid("json")), 200);
