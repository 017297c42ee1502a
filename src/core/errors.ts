import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The closed catalogue of error codes. Every error the API returns is one of these, rendered as RFC 9457
 * problem+json by `problemResponse`. `/docs/errors` and the OpenAPI document are generated from this table.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: {
    status: 400,
    title: "Validation failed",
    description: "Body, query or path parameters failed validation (see `errors[]`).",
  },
  INVALID_TOKEN: {
    status: 400,
    title: "Invalid or expired token",
    description:
      "A single-use token (verification, reset, invitation, cancel-deletion) is unknown or expired.",
  },
  WEAK_PASSWORD: {
    status: 400,
    title: "Password too weak",
    description: "The password is too easy to guess (zxcvbn score below 3); `feedback` says why.",
  },
  BREACHED_PASSWORD: {
    status: 400,
    title: "Password found in a data breach",
    description: "The password appears in known breaches (Have I Been Pwned).",
  },
  UNAUTHENTICATED: {
    status: 401,
    title: "Authentication required",
    description: "Missing, invalid or expired access token, or a revoked session.",
  },
  INVALID_CREDENTIALS: {
    status: 401,
    title: "Invalid email or password",
    description: "Login: wrong password or unknown email (indistinguishable on purpose).",
  },
  REAUTH_REQUIRED: {
    status: 401,
    title: "Re-authentication required",
    description: "The action needs a recent sign-in or the current password.",
  },
  FORBIDDEN: {
    status: 403,
    title: "Forbidden",
    description: "The caller can see the object but its role is too low, or it is not the owner.",
  },
  ACCOUNT_DEACTIVATED: {
    status: 403,
    title: "Account deactivated",
    description: "Correct password, but the account is deactivated.",
  },
  ACCOUNT_PENDING_DELETION: {
    status: 403,
    title: "Account pending deletion",
    description: "Correct password, but the account is scheduled for deletion (it can be cancelled).",
  },
  NOT_FOUND: {
    status: 404,
    title: "Not found",
    description:
      "Unknown route, or an id that does not exist in the caller's workspace (same answer for both).",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: "Method not allowed",
    description: "The HTTP method is not supported on this path.",
  },
  LAST_ADMIN: {
    status: 409,
    title: "Last admin",
    description: "The request would leave the workspace without an ACTIVE admin while other members exist.",
  },
  WORKSPACE_PENDING_DELETION: {
    status: 409,
    title: "Workspace pending deletion",
    description: "The workspace is scheduled for deletion; only reads and cancellation are allowed.",
  },
  ALREADY_IN_WORKSPACE: {
    status: 409,
    title: "Already in a workspace",
    description: "The user already belongs to a workspace it cannot leave by accepting an invitation.",
  },
  ALREADY_MEMBER: {
    status: 409,
    title: "Already a member",
    description: "The invited email already belongs to a member of this workspace.",
  },
  PERSONA_MISMATCH: {
    status: 409,
    title: "Persona mismatch",
    description: "The conversation belongs to a different persona than the one addressed.",
  },
  NOT_EDITABLE: {
    status: 409,
    title: "Message not editable",
    description: "Only the author's USER messages can be edited.",
  },
  EDIT_WINDOW_EXPIRED: {
    status: 409,
    title: "Edit window expired",
    description: "The edit window (EDIT_WINDOW_MINUTES) is over.",
  },
  CONVERSATION_ARCHIVED: {
    status: 409,
    title: "Conversation archived",
    description: "An archived conversation takes no new messages; unarchive it first.",
  },
  CONVERSATION_NOT_SHARED: {
    status: 409,
    title: "Conversation not shared",
    description: "Share links exist only for SHARED conversations.",
  },
  FILE_NOT_READY: {
    status: 409,
    title: "File not ready",
    description: "A file attached to a chat is not a READY file of this conversation.",
  },
  NOT_RETRYABLE: {
    status: 409,
    title: "Message not retryable",
    description: "Only a FAILED user message of the caller can be retried.",
  },
  PERSONA_LIMIT_REACHED: {
    status: 409,
    title: "Persona limit reached",
    description: "A workspace may have at most 50 personas.",
  },
  AMBIGUOUS_PERSONA: {
    status: 409,
    title: "Ambiguous persona",
    description: "Several personas match the name; address it by id or slug.",
  },
  LINK_REQUIRES_LOGIN: {
    status: 409,
    title: "Sign in to link this account",
    description: "Google is not authoritative for this email: sign in with the password, then link Google.",
  },
  CONFLICT: {
    status: 409,
    title: "Conflict",
    description: "A unique value (slug, email, …) is already taken.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: "Payload too large",
    description: "The request body is larger than this route accepts.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: "Unsupported media type",
    description: "The content type (checked by magic bytes for uploads) is not accepted here.",
  },
  ACCOUNT_LOCKED: {
    status: 423,
    title: "Account temporarily locked",
    description: "Too many failed logins for this email; retry after Retry-After seconds.",
  },
  RATE_LIMITED: {
    status: 429,
    title: "Too many requests",
    description: "A rate limit was hit; retry after Retry-After seconds. Nothing was stored.",
  },
  INTERNAL: {
    status: 500,
    title: "Internal server error",
    description: "Unexpected server error (logged with the trace id).",
  },
  CONFIG_INVALID: {
    status: 500,
    title: "Server misconfigured",
    description: "The Worker's configuration is invalid; the log names the variable.",
  },
  NOT_CONFIGURED: {
    status: 501,
    title: "Not configured",
    description: "The feature (e.g. Google sign-in) is not configured on this deployment.",
  },
  PERSONA_RELAY_FAILED: {
    status: 502,
    title: "Persona relay failed",
    description: "The persona's webhook failed. The user message is kept and can be retried.",
  },
  PERSONA_UNAVAILABLE: {
    status: 503,
    title: "Persona unavailable",
    description:
      "The persona is paused (circuit breaker open); retry after Retry-After seconds. Nothing was stored.",
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    title: "Database unavailable",
    description: "The database cannot be reached; retry after Retry-After seconds.",
  },
  PERSONA_TIMEOUT: {
    status: 504,
    title: "Persona timed out",
    description: "The persona's webhook did not answer in time. The user message is kept and can be retried.",
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export type FieldError = { path: string; message: string };

export type ApiErrorOptions = {
  /** Field-level validation errors (VALIDATION_FAILED). */
  errors?: FieldError[];
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  /** Extra documented members of the problem body (e.g. conversationId on relay failures). */
  extra?: Record<string, unknown>;
  cause?: unknown;
};

/** The one error type handlers and services throw; `onError` renders it as problem+json. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, options: ApiErrorOptions = {}) {
    super(detail ?? ERROR_CATALOGUE[code].title, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extra = options.extra;
  }
}

export type ProblemBody = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  traceId: string;
  errors?: FieldError[];
} & Record<string, unknown>;

/** RFC 9457 body for an ApiError; `type` points at the code's entry in /docs/errors. */
export function problemBody(error: ApiError, traceId: string): ProblemBody {
  return {
    ...error.extra,
    type: `/docs/errors#${error.code}`,
    title: ERROR_CATALOGUE[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    traceId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/** A complete problem+json Response (used by onError, notFound and middleware that answers early). */
export function problemResponse(error: ApiError, traceId: string): Response {
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/problem+json");
  return new Response(JSON.stringify(problemBody(error, traceId)), { status: error.status, headers });
}
