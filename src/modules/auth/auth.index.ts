import { createRouter } from "../../core/router";
import * as handlers from "./auth.handlers";
import * as routes from "./auth.routes";

/** /api/auth: sign-up, sign-in, sessions and account lifecycle. */
export const authRouter = createRouter()
  .openapi(routes.register, handlers.register)
  .openapi(routes.verificationStatus, handlers.verificationStatus)
  .openapi(routes.verifyEmail, handlers.verifyEmail)
  .openapi(routes.resendVerification, handlers.resendVerification)
  .openapi(routes.login, handlers.login)
  .openapi(routes.refresh, handlers.refresh)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.listSessions, handlers.listSessions)
  .openapi(routes.revokeSession, handlers.revokeSession)
  .openapi(routes.requestPasswordReset, handlers.requestPasswordReset)
  .openapi(routes.resetPassword, handlers.resetPassword)
  .openapi(routes.deactivate, handlers.deactivate)
  .openapi(routes.deleteAccount, handlers.deleteAccount)
  .openapi(routes.cancelDeletion, handlers.cancelDeletion);
