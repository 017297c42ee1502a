CREATE TYPE "public"."actor_type" AS ENUM('USER', 'ANONYMOUS', 'SYSTEM', 'WEBHOOK');--> statement-breakpoint
CREATE TYPE "public"."chat_run_status" AS ENUM('PENDING', 'SUCCEEDED', 'FAILED', 'TIMEOUT');--> statement-breakpoint
CREATE TYPE "public"."email_status" AS ENUM('QUEUED', 'SENDING', 'SENT', 'FAILED', 'DEAD');--> statement-breakpoint
CREATE TYPE "public"."file_status" AS ENUM('PENDING', 'READY');--> statement-breakpoint
CREATE TYPE "public"."job_run_status" AS ENUM('RUNNING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."join_policy" AS ENUM('AUTO', 'INVITE_ONLY');--> statement-breakpoint
CREATE TYPE "public"."message_role" AS ENUM('USER', 'ASSISTANT');--> statement-breakpoint
CREATE TYPE "public"."message_status" AS ENUM('COMPLETE', 'PENDING', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."reaction_type" AS ENUM('LIKE', 'DISLIKE');--> statement-breakpoint
CREATE TYPE "public"."session_method" AS ENUM('PASSWORD', 'GOOGLE');--> statement-breakpoint
CREATE TYPE "public"."signing_key_status" AS ENUM('NEXT', 'CURRENT', 'PREVIOUS', 'RETIRED');--> statement-breakpoint
CREATE TYPE "public"."token_purpose" AS ENUM('VERIFY_EMAIL', 'RESET_PASSWORD', 'OAUTH_CODE', 'CANCEL_DELETION');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('ADMIN', 'MEMBER');--> statement-breakpoint
CREATE TYPE "public"."user_status" AS ENUM('PENDING_VERIFY', 'ACTIVE', 'DEACTIVATED', 'PENDING_DELETION');--> statement-breakpoint
CREATE TYPE "public"."visibility" AS ENUM('PRIVATE', 'SHARED');--> statement-breakpoint
CREATE TYPE "public"."workspace_kind" AS ENUM('CORPORATE', 'PERSONAL');--> statement-breakpoint
CREATE TYPE "public"."workspace_status" AS ENUM('ACTIVE', 'PENDING_DELETION');--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid,
	"actor_user_id" uuid,
	"actor_type" "actor_type" NOT NULL,
	"event_type" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"ip" "inet",
	"user_agent" text,
	"trace_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"user_message_id" uuid NOT NULL,
	"status" "chat_run_status" DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"latency_ms" integer,
	"error_class" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "chat_runs_attempts_ck" CHECK ("chat_runs"."attempts" >= 0),
	CONSTRAINT "chat_runs_latency_ck" CHECK ("chat_runs"."latency_ms" IS NULL OR "chat_runs"."latency_ms" >= 0)
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"owner_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"title" text,
	"visibility" "visibility" DEFAULT 'PRIVATE' NOT NULL,
	"archived_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"current_leaf_id" uuid,
	"last_message_at" timestamp with time zone DEFAULT now() NOT NULL,
	"message_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_workspace_id_id_key" UNIQUE("workspace_id","id"),
	CONSTRAINT "conversations_message_count_ck" CHECK ("conversations"."message_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"parent_id" uuid,
	"role" "message_role" NOT NULL,
	"author_id" uuid,
	"content" text NOT NULL,
	"status" "message_status" DEFAULT 'COMPLETE' NOT NULL,
	"persona_version" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_workspace_id_id_key" UNIQUE("workspace_id","id"),
	CONSTRAINT "messages_conversation_id_id_key" UNIQUE("conversation_id","id"),
	CONSTRAINT "messages_content_length_ck" CHECK (char_length("messages"."content") <= 100000),
	CONSTRAINT "messages_author_role_ck" CHECK ("messages"."role" = 'USER' OR "messages"."author_id" IS NULL),
	CONSTRAINT "messages_assistant_parent_ck" CHECK ("messages"."role" = 'USER' OR "messages"."parent_id" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "reactions" (
	"message_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"type" "reaction_type" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reactions_pkey" PRIMARY KEY("message_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "share_links" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"leaf_message_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"view_count" integer DEFAULT 0 NOT NULL,
	"last_viewed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "share_links_token_hash_key" UNIQUE("token_hash"),
	CONSTRAINT "share_links_expiry_ck" CHECK ("share_links"."expires_at" > "share_links"."created_at"),
	CONSTRAINT "share_links_view_count_ck" CHECK ("share_links"."view_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "email_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"recipient" text NOT NULL,
	"template" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secret_params_encrypted" text,
	"status" "email_status" DEFAULT 'QUEUED' NOT NULL,
	"claimed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "email_deliveries_attempts_ck" CHECK ("email_deliveries"."attempts" >= 0),
	CONSTRAINT "email_deliveries_sent_secrets_ck" CHECK ("email_deliveries"."status" <> 'SENT' OR "email_deliveries"."secret_params_encrypted" IS NULL)
);
--> statement-breakpoint
CREATE TABLE "files" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"uploader_id" uuid,
	"r2_key" text NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"status" "file_status" DEFAULT 'PENDING' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"uploaded_at" timestamp with time zone,
	CONSTRAINT "files_workspace_id_id_key" UNIQUE("workspace_id","id"),
	CONSTRAINT "files_r2_key_key" UNIQUE("r2_key"),
	CONSTRAINT "files_size_ck" CHECK ("files"."size_bytes" > 0),
	CONSTRAINT "files_ready_uploaded_ck" CHECK ("files"."status" <> 'READY' OR "files"."uploaded_at" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "message_files" (
	"message_id" uuid NOT NULL,
	"file_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	CONSTRAINT "message_files_pkey" PRIMARY KEY("message_id","file_id")
);
--> statement-breakpoint
CREATE TABLE "invitations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"email" text NOT NULL,
	"role" "user_role" DEFAULT 'MEMBER' NOT NULL,
	"token_hash" text NOT NULL,
	"invited_by" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invitations_token_hash_key" UNIQUE("token_hash"),
	CONSTRAINT "invitations_email_lower_ck" CHECK ("invitations"."email" = lower("invitations"."email")),
	CONSTRAINT "invitations_closed_once_ck" CHECK ("invitations"."accepted_at" IS NULL OR "invitations"."revoked_at" IS NULL)
);
--> statement-breakpoint
CREATE TABLE "job_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"job" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"status" "job_run_status" DEFAULT 'RUNNING' NOT NULL,
	"stats" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "persona_favourites" (
	"user_id" uuid NOT NULL,
	"persona_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	CONSTRAINT "persona_favourites_pkey" PRIMARY KEY("user_id","persona_id")
);
--> statement-breakpoint
CREATE TABLE "personas" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"personal_name" text,
	"role_title" text,
	"about" text,
	"traits" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"pain_points" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"core_expertise" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"key_responsibilities" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"communication_style" text,
	"avatar_url" text,
	"webhook_url_encrypted" text NOT NULL,
	"webhook_secret_encrypted" text NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"breaker_open_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "personas_slug_format_ck" CHECK ("personas"."slug" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	CONSTRAINT "personas_version_ck" CHECK ("personas"."version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_jwk_encrypted" text NOT NULL,
	"status" "signing_key_status" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	"retire_after" timestamp with time zone,
	CONSTRAINT "signing_keys_current_activated_ck" CHECK ("signing_keys"."status" <> 'CURRENT' OR "signing_keys"."activated_at" IS NOT NULL),
	CONSTRAINT "signing_keys_previous_retire_ck" CHECK ("signing_keys"."status" <> 'PREVIOUS' OR "signing_keys"."retire_after" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "oauth_accounts" (
	"provider" text NOT NULL,
	"provider_subject" text NOT NULL,
	"user_id" uuid NOT NULL,
	"email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oauth_accounts_pkey" PRIMARY KEY("provider","provider_subject"),
	CONSTRAINT "oauth_accounts_email_lower_ck" CHECK ("oauth_accounts"."email" = lower("oauth_accounts"."email"))
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"refresh_salt" text NOT NULL,
	"counter" integer DEFAULT 0 NOT NULL,
	"rotated_at" timestamp with time zone,
	"auth_time" timestamp with time zone NOT NULL,
	"method" "session_method" NOT NULL,
	"user_agent" text,
	"ip" "inet" NOT NULL,
	"device_label" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"idle_expires_at" timestamp with time zone NOT NULL,
	"absolute_expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoke_reason" text,
	CONSTRAINT "sessions_counter_ck" CHECK ("sessions"."counter" >= 0)
);
--> statement-breakpoint
CREATE TABLE "user_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"purpose" "token_purpose" NOT NULL,
	"token_hash" text NOT NULL,
	"user_id" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_tokens_token_hash_key" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid,
	"email" text NOT NULL,
	"name" text,
	"password_hash" text,
	"status" "user_status" DEFAULT 'PENDING_VERIFY' NOT NULL,
	"role" "user_role" DEFAULT 'MEMBER' NOT NULL,
	"email_verified_at" timestamp with time zone,
	"last_login_at" timestamp with time zone,
	"avatar_key" text,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"locale" text DEFAULT 'en' NOT NULL,
	"deletion_requested_at" timestamp with time zone,
	"purge_after" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_email_key" UNIQUE("email"),
	CONSTRAINT "users_workspace_id_id_key" UNIQUE("workspace_id","id"),
	CONSTRAINT "users_email_lower_ck" CHECK ("users"."email" = lower("users"."email")),
	CONSTRAINT "users_workspace_verified_ck" CHECK ("users"."workspace_id" IS NULL OR "users"."email_verified_at" IS NOT NULL),
	CONSTRAINT "users_workspace_status_ck" CHECK ("users"."status" = 'PENDING_VERIFY' OR "users"."workspace_id" IS NOT NULL),
	CONSTRAINT "users_purge_after_ck" CHECK ("users"."status" <> 'PENDING_DELETION' OR "users"."purge_after" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"domain" text,
	"kind" "workspace_kind" NOT NULL,
	"join_policy" "join_policy" DEFAULT 'AUTO' NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"locale" text DEFAULT 'en' NOT NULL,
	"status" "workspace_status" DEFAULT 'ACTIVE' NOT NULL,
	"deletion_requested_at" timestamp with time zone,
	"deletion_requested_by" uuid,
	"deletion_reason" text,
	"purge_after" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_domain_key" UNIQUE("domain"),
	CONSTRAINT "workspaces_domain_lower_ck" CHECK ("workspaces"."domain" = lower("workspaces"."domain")),
	CONSTRAINT "workspaces_domain_kind_ck" CHECK (("workspaces"."domain" IS NULL) = ("workspaces"."kind" = 'PERSONAL')),
	CONSTRAINT "workspaces_purge_after_ck" CHECK ("workspaces"."status" <> 'PENDING_DELETION' OR "workspaces"."purge_after" IS NOT NULL)
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_runs" ADD CONSTRAINT "chat_runs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_runs" ADD CONSTRAINT "chat_runs_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_runs" ADD CONSTRAINT "chat_runs_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_runs" ADD CONSTRAINT "chat_runs_user_message_fk" FOREIGN KEY ("conversation_id","user_message_id") REFERENCES "public"."messages"("conversation_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_owner_fk" FOREIGN KEY ("workspace_id","owner_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_current_leaf_fk" FOREIGN KEY ("id","current_leaf_id") REFERENCES "public"."messages"("conversation_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_parent_fk" FOREIGN KEY ("conversation_id","parent_id") REFERENCES "public"."messages"("conversation_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reactions" ADD CONSTRAINT "reactions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reactions" ADD CONSTRAINT "reactions_message_fk" FOREIGN KEY ("workspace_id","message_id") REFERENCES "public"."messages"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reactions" ADD CONSTRAINT "reactions_user_fk" FOREIGN KEY ("workspace_id","user_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_leaf_message_fk" FOREIGN KEY ("conversation_id","leaf_message_id") REFERENCES "public"."messages"("conversation_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_uploader_id_users_id_fk" FOREIGN KEY ("uploader_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_message_fk" FOREIGN KEY ("workspace_id","message_id") REFERENCES "public"."messages"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_file_fk" FOREIGN KEY ("workspace_id","file_id") REFERENCES "public"."files"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_invited_by_fk" FOREIGN KEY ("workspace_id","invited_by") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persona_favourites" ADD CONSTRAINT "persona_favourites_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persona_favourites" ADD CONSTRAINT "persona_favourites_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persona_favourites" ADD CONSTRAINT "persona_favourites_user_fk" FOREIGN KEY ("workspace_id","user_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "personas" ADD CONSTRAINT "personas_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "oauth_accounts" ADD CONSTRAINT "oauth_accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_fk" FOREIGN KEY ("workspace_id","user_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE cascade;--> statement-breakpoint
ALTER TABLE "user_tokens" ADD CONSTRAINT "user_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_deletion_requested_by_users_id_fk" FOREIGN KEY ("deletion_requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_workspace_created_idx" ON "audit_events" USING btree ("workspace_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_events_workspace_type_created_idx" ON "audit_events" USING btree ("workspace_id","event_type","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_actor_created_idx" ON "audit_events" USING btree ("actor_user_id","created_at") WHERE "audit_events"."actor_user_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_events_created_idx" ON "audit_events" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "chat_runs_persona_started_idx" ON "chat_runs" USING btree ("persona_id","workspace_id","started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "chat_runs_conversation_message_idx" ON "chat_runs" USING btree ("conversation_id","user_message_id");--> statement-breakpoint
CREATE INDEX "chat_runs_pending_started_idx" ON "chat_runs" USING btree ("started_at") WHERE "chat_runs"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "conversations_workspace_visibility_idx" ON "conversations" USING btree ("workspace_id","visibility","last_message_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "conversations"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX "conversations_owner_idx" ON "conversations" USING btree ("owner_id","archived_at","last_message_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "conversations_persona_idx" ON "conversations" USING btree ("persona_id");--> statement-breakpoint
CREATE INDEX "conversations_deleted_idx" ON "conversations" USING btree ("deleted_at") WHERE "conversations"."deleted_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_conversation_parent_idx" ON "messages" USING btree ("conversation_id","parent_id");--> statement-breakpoint
CREATE INDEX "messages_conversation_created_idx" ON "messages" USING btree ("conversation_id","created_at");--> statement-breakpoint
CREATE INDEX "messages_author_idx" ON "messages" USING btree ("author_id") WHERE "messages"."author_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "reactions_message_type_idx" ON "reactions" USING btree ("message_id","type");--> statement-breakpoint
CREATE INDEX "reactions_workspace_user_idx" ON "reactions" USING btree ("workspace_id","user_id");--> statement-breakpoint
CREATE INDEX "share_links_conversation_idx" ON "share_links" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "share_links_expires_idx" ON "share_links" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "share_links_created_by_idx" ON "share_links" USING btree ("created_by") WHERE "share_links"."created_by" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "email_deliveries_queued_created_idx" ON "email_deliveries" USING btree ("created_at") WHERE "email_deliveries"."status" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "email_deliveries_sent_idx" ON "email_deliveries" USING btree ("sent_at") WHERE "email_deliveries"."status" = 'SENT';--> statement-breakpoint
CREATE INDEX "files_conversation_idx" ON "files" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "files_pending_created_idx" ON "files" USING btree ("created_at") WHERE "files"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "files_uploader_idx" ON "files" USING btree ("uploader_id") WHERE "files"."uploader_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "message_files_workspace_file_idx" ON "message_files" USING btree ("workspace_id","file_id");--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_pending_email_key" ON "invitations" USING btree ("workspace_id","email") WHERE "invitations"."accepted_at" IS NULL AND "invitations"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "invitations_workspace_created_idx" ON "invitations" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "invitations_expires_idx" ON "invitations" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "job_runs_job_started_idx" ON "job_runs" USING btree ("job","started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "persona_favourites_workspace_user_idx" ON "persona_favourites" USING btree ("workspace_id","user_id");--> statement-breakpoint
CREATE INDEX "persona_favourites_persona_idx" ON "persona_favourites" USING btree ("persona_id");--> statement-breakpoint
CREATE UNIQUE INDEX "personas_global_slug_key" ON "personas" USING btree ("slug") WHERE "personas"."workspace_id" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "personas_workspace_slug_key" ON "personas" USING btree ("workspace_id","slug") WHERE "personas"."workspace_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "personas_workspace_idx" ON "personas" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_one_current_key" ON "signing_keys" USING btree ("status") WHERE "signing_keys"."status" = 'CURRENT';--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_one_next_key" ON "signing_keys" USING btree ("status") WHERE "signing_keys"."status" = 'NEXT';--> statement-breakpoint
CREATE INDEX "oauth_accounts_user_idx" ON "oauth_accounts" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_absolute_expires_idx" ON "sessions" USING btree ("absolute_expires_at");--> statement-breakpoint
CREATE INDEX "user_tokens_user_purpose_idx" ON "user_tokens" USING btree ("user_id","purpose");--> statement-breakpoint
CREATE INDEX "user_tokens_expires_idx" ON "user_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "users_workspace_status_role_idx" ON "users" USING btree ("workspace_id","status","role");--> statement-breakpoint
CREATE INDEX "users_workspace_created_idx" ON "users" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "users_pending_verify_idx" ON "users" USING btree ("created_at") WHERE "users"."status" = 'PENDING_VERIFY';--> statement-breakpoint
CREATE INDEX "users_purge_idx" ON "users" USING btree ("purge_after") WHERE "users"."status" = 'PENDING_DELETION';--> statement-breakpoint
CREATE INDEX "workspaces_purge_idx" ON "workspaces" USING btree ("purge_after") WHERE "workspaces"."status" = 'PENDING_DELETION';--> statement-breakpoint
CREATE INDEX "workspaces_deletion_requested_by_idx" ON "workspaces" USING btree ("deletion_requested_by") WHERE "workspaces"."deletion_requested_by" IS NOT NULL;