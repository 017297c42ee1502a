-- A user moving out of a personal workspace takes their conversation tree along (issue 16): one UPDATE of
-- users.workspace_id cascades to conversations and from there to messages, reactions, share links, files,
-- attachment links and chat runs. Rows reachable by two paths (reactions: message and user; message_files:
-- message and file) would fail the other key's check while half moved, so these keys are also DEFERRABLE
-- (INITIALLY IMMEDIATE: nothing changes for other statements); the move sets them DEFERRED and the checks
-- run at COMMIT. drizzle-kit does not model DEFERRABLE: it is added here by hand.
ALTER TABLE "chat_runs" DROP CONSTRAINT "chat_runs_conversation_fk";
--> statement-breakpoint
ALTER TABLE "conversations" DROP CONSTRAINT "conversations_owner_fk";
--> statement-breakpoint
ALTER TABLE "messages" DROP CONSTRAINT "messages_conversation_fk";
--> statement-breakpoint
ALTER TABLE "reactions" DROP CONSTRAINT "reactions_message_fk";
--> statement-breakpoint
ALTER TABLE "reactions" DROP CONSTRAINT "reactions_user_fk";
--> statement-breakpoint
ALTER TABLE "share_links" DROP CONSTRAINT "share_links_conversation_fk";
--> statement-breakpoint
ALTER TABLE "files" DROP CONSTRAINT "files_conversation_fk";
--> statement-breakpoint
ALTER TABLE "message_files" DROP CONSTRAINT "message_files_message_fk";
--> statement-breakpoint
ALTER TABLE "message_files" DROP CONSTRAINT "message_files_file_fk";
--> statement-breakpoint
ALTER TABLE "persona_favourites" DROP CONSTRAINT "persona_favourites_user_fk";
--> statement-breakpoint
ALTER TABLE "chat_runs" ADD CONSTRAINT "chat_runs_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_owner_fk" FOREIGN KEY ("workspace_id","owner_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE no action ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "reactions" ADD CONSTRAINT "reactions_message_fk" FOREIGN KEY ("workspace_id","message_id") REFERENCES "public"."messages"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "reactions" ADD CONSTRAINT "reactions_user_fk" FOREIGN KEY ("workspace_id","user_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "share_links" ADD CONSTRAINT "share_links_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_conversation_fk" FOREIGN KEY ("workspace_id","conversation_id") REFERENCES "public"."conversations"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_message_fk" FOREIGN KEY ("workspace_id","message_id") REFERENCES "public"."messages"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_file_fk" FOREIGN KEY ("workspace_id","file_id") REFERENCES "public"."files"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;--> statement-breakpoint
ALTER TABLE "persona_favourites" ADD CONSTRAINT "persona_favourites_user_fk" FOREIGN KEY ("workspace_id","user_id") REFERENCES "public"."users"("workspace_id","id") ON DELETE cascade ON UPDATE cascade DEFERRABLE INITIALLY IMMEDIATE;