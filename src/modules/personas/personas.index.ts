import { createRouter } from "../../core/router";
import * as handlers from "./personas.handlers";
import * as routes from "./personas.routes";

/** /api/personas: the catalogue, favourites, management and the delivery log (the relay is in chat/). */
export const personasRouter = createRouter()
  .openapi(routes.listPersonas, handlers.listPersonas)
  .openapi(routes.createPersona, handlers.createPersona)
  .openapi(routes.getPersona, handlers.getPersona)
  .openapi(routes.updatePersona, handlers.updatePersona)
  .openapi(routes.deletePersona, handlers.deletePersona)
  .openapi(routes.toggleFavourite, handlers.toggleFavourite)
  .openapi(routes.listDeliveries, handlers.listDeliveries);
