CREATE TABLE "persona_breakers" (
	"persona_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"open_until" timestamp with time zone NOT NULL,
	CONSTRAINT "persona_breakers_pkey" PRIMARY KEY("persona_id","workspace_id")
);
--> statement-breakpoint
ALTER TABLE "persona_breakers" ADD CONSTRAINT "persona_breakers_persona_id_personas_id_fk" FOREIGN KEY ("persona_id") REFERENCES "public"."personas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persona_breakers" ADD CONSTRAINT "persona_breakers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "persona_breakers_workspace_idx" ON "persona_breakers" USING btree ("workspace_id");