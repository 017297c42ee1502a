/**
 * Who may do what on a conversation (API.md status table): for every conversation and message route, the
 * owner, another member, the workspace admin and another workspace's admin, on a PRIVATE and on a SHARED
 * conversation. 404 for whoever cannot see it (admins included for PRIVATE ones), 403 for a visible one the
 * caller may not change.
 */
import { describe, expect, it } from "vitest";
import { signIn } from "../helpers/auth";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import { conversationTenant, insertConversation, insertMessage } from "./support";

type Who = "owner" | "member" | "admin" | "foreign";
type Cell = { PRIVATE: Record<Who, number>; SHARED: Record<Who, number> };
type Route = {
  name: string;
  method: string;
  path: (ids: { conversationId: string; messageId: string }) => string;
  body?: (visibility: "PRIVATE" | "SHARED") => unknown;
  /** Status of the conversation's one USER message (retry needs a FAILED one). */
  messageStatus?: "COMPLETE" | "FAILED";
  expected: Cell;
};

const readable = { owner: 200, member: 200, admin: 200, foreign: 404 };
const ownerOnly = { owner: 200, member: 403, admin: 403, foreign: 404 };
const privateOnlyOwner = { owner: 200, member: 404, admin: 404, foreign: 404 };

const ROUTES: Route[] = [
  {
    name: "GET /api/conversations/{id}",
    method: "GET",
    path: (ids) => `/api/conversations/${ids.conversationId}`,
    expected: { PRIVATE: privateOnlyOwner, SHARED: readable },
  },
  {
    name: "PATCH /api/conversations/{id}",
    method: "PATCH",
    path: (ids) => `/api/conversations/${ids.conversationId}`,
    body: () => ({ title: "Renamed" }),
    expected: { PRIVATE: privateOnlyOwner, SHARED: ownerOnly },
  },
  {
    name: "PATCH /api/conversations/{id}/visibility (to the other value)",
    method: "PATCH",
    path: (ids) => `/api/conversations/${ids.conversationId}/visibility`,
    body: (v) => ({ visibility: v === "PRIVATE" ? "SHARED" : "PRIVATE" }),
    // An admin may only make a SHARED conversation PRIVATE; nobody but the owner shares a PRIVATE one.
    expected: { PRIVATE: privateOnlyOwner, SHARED: { owner: 200, member: 403, admin: 200, foreign: 404 } },
  },
  {
    name: "PATCH /api/conversations/{id}/visibility (SHARED → SHARED as admin)",
    method: "PATCH",
    path: (ids) => `/api/conversations/${ids.conversationId}/visibility`,
    body: () => ({ visibility: "SHARED" }),
    expected: { PRIVATE: privateOnlyOwner, SHARED: ownerOnly },
  },
  {
    name: "PATCH /api/conversations/{id}/archive",
    method: "PATCH",
    path: (ids) => `/api/conversations/${ids.conversationId}/archive`,
    body: () => ({ archived: true }),
    expected: { PRIVATE: privateOnlyOwner, SHARED: ownerOnly },
  },
  {
    name: "DELETE /api/conversations/{id}",
    method: "DELETE",
    path: (ids) => `/api/conversations/${ids.conversationId}`,
    expected: {
      PRIVATE: { owner: 204, member: 404, admin: 404, foreign: 404 },
      SHARED: { owner: 204, member: 403, admin: 403, foreign: 404 },
    },
  },
  {
    name: "POST /api/messages/{id}/reactions",
    method: "POST",
    path: (ids) => `/api/messages/${ids.messageId}/reactions`,
    body: () => ({ type: "LIKE" }),
    expected: { PRIVATE: privateOnlyOwner, SHARED: readable },
  },
  {
    name: "PATCH /api/messages/{id} (edit, relayed)",
    method: "PATCH",
    path: (ids) => `/api/messages/${ids.messageId}`,
    body: () => ({ content: "edited" }),
    expected: { PRIVATE: privateOnlyOwner, SHARED: ownerOnly },
  },
  {
    name: "POST /api/messages/{id}/retry (a FAILED message)",
    method: "POST",
    path: (ids) => `/api/messages/${ids.messageId}/retry`,
    messageStatus: "FAILED",
    // Visible but not theirs: not retryable for them.
    expected: { PRIVATE: privateOnlyOwner, SHARED: { owner: 200, member: 409, admin: 409, foreign: 404 } },
  },
  {
    name: "POST /api/conversations/{id}/share",
    method: "POST",
    path: (ids) => `/api/conversations/${ids.conversationId}/share`,
    body: () => ({}),
    expected: {
      PRIVATE: { owner: 409, member: 404, admin: 404, foreign: 404 },
      SHARED: { owner: 201, member: 403, admin: 403, foreign: 404 },
    },
  },
  {
    name: "GET /api/conversations/{id}/shares",
    method: "GET",
    path: (ids) => `/api/conversations/${ids.conversationId}/shares`,
    expected: { PRIVATE: privateOnlyOwner, SHARED: { owner: 200, member: 403, admin: 200, foreign: 404 } },
  },
  {
    name: "POST /api/conversations/{id}/files",
    method: "POST",
    path: (ids) => `/api/conversations/${ids.conversationId}/files`,
    body: () => ({ filename: "a.png", contentType: "image/png", size: 100 }),
    expected: {
      PRIVATE: { owner: 201, member: 404, admin: 404, foreign: 404 },
      SHARED: { owner: 201, member: 403, admin: 403, foreign: 404 },
    },
  },
];

describe("conversation visibility matrix", () => {
  it.each(ROUTES.flatMap((r) => (["PRIVATE", "SHARED"] as const).map((v) => [r.name, v, r] as const)))(
    "%s on a %s conversation: owner / member / admin / other workspace",
    async (_name, visibility, route) => {
      const t = await conversationTenant();
      const foreignTenant = await createTenant();
      const foreignToken = (await signIn(foreignTenant.admin)).accessToken;
      const tokens: Record<Who, string> = {
        owner: t.owner.token,
        member: t.other.token,
        admin: t.adminActor.token,
        foreign: foreignToken,
      };
      for (const who of ["foreign", "member", "admin", "owner"] as const) {
        // A fresh conversation per caller: some calls change or delete it.
        const conversationId = await insertConversation(t, t.owner.user, { visibility });
        const messageId = await insertMessage(t.workspace.id, conversationId, {
          parent: null,
          author: t.owner.user,
          status: route.messageStatus ?? "COMPLETE",
        });
        const res = await api(route.method, route.path({ conversationId, messageId }), {
          token: tokens[who],
          body: route.body?.(visibility),
        });
        expect(res.status, `${route.name} as ${who} on ${visibility}: ${describeResponse(res)}`).toBe(
          route.expected[visibility][who],
        );
        if (res.status === 404) expect(res.body.code).toBe("NOT_FOUND");
        if (res.status === 403) expect(res.body.code).toBe("FORBIDDEN");
      }
    },
  );
});
