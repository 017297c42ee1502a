import { createRouter } from "../../core/router";
import * as handlers from "./audit.handlers";
import * as routes from "./audit.routes";

/** /api/admin/audit-events: the workspace's audit trail for its admins. */
export const auditRouter = createRouter().openapi(routes.listAuditEvents, handlers.listAuditEvents);
