import { createRouter } from "../../core/router";
import * as handlers from "./files.handlers";
import * as routes from "./files.routes";

/** Attachments: upload tickets, the signed upload PUT and downloads. */
export const filesRouter = createRouter()
  .openapi(routes.createUpload, handlers.createUpload)
  .openapi(routes.uploadFile, handlers.uploadFile)
  .openapi(routes.downloadFile, handlers.downloadFile);
