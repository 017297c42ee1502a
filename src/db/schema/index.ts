/** The whole data model (DESIGN.md "Data"); drizzle-kit reads this file to generate migrations. */
export * from "./audit-events";
export * from "./chat-runs";
export * from "./conversations";
export * from "./email-deliveries";
export * from "./enums";
export * from "./files";
export * from "./invitations";
export * from "./job-runs";
export * from "./personas";
export * from "./signing-keys";
export * from "./users";
export * from "./workspaces";
