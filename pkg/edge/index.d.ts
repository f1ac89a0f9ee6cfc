// threeds-bridge/edge: the thin merchant backend as a Cloudflare worker (docs/edge.md).

/** The worker's `fetch`: `export default { fetch: createHandler() }`. */
export function createHandler(): (request: Request, env: Record<string, unknown>) => Promise<Response>;

/** The Durable Object class holding the sessions; export it from the worker and bind it as THREEDS_SESSIONS. */
export class ThreedsSessions {
  constructor(ctx: unknown, env: unknown);
}
