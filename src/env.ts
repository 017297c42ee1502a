import type { PersonaGate } from "./durable-objects/persona-gate";
import type { RateLimiter } from "./durable-objects/rate-limiter";

/** Bindings declared in wrangler.toml plus the variables of CONFIG.md (raw strings, parsed by parseConfig). */
export type Env = {
  HYPERDRIVE: Hyperdrive;
  FILES: R2Bucket;
  EMAIL_QUEUE: Queue<unknown>;
  PERSONA_GATE: DurableObjectNamespace<PersonaGate>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  ASSETS: Fetcher;
} & Record<string, unknown>;
