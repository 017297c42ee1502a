import type { Workspace } from "../../db/schema";
import type { WorkspaceSummaryDto } from "./workspaces.schemas";

export function toWorkspaceSummaryDto(workspace: Workspace): WorkspaceSummaryDto {
  return {
    id: workspace.id,
    name: workspace.name,
    kind: workspace.kind,
    domain: workspace.domain,
    joinPolicy: workspace.joinPolicy,
    status: workspace.status,
    timezone: workspace.timezone,
    locale: workspace.locale,
  };
}
