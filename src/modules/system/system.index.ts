import { createRouter } from "../../core/router";
import { getLiveness, getReadiness } from "./system.handlers";
import { liveness, readiness } from "./system.routes";

export const systemRouter = createRouter().openapi(liveness, getLiveness).openapi(readiness, getReadiness);
