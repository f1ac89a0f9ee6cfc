// threeds-bridge/edge: the thin merchant backend as a Cloudflare worker (docs/edge.md).

/** What workerd hands a fetch handler besides the request and env. */
export interface HandlerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * The worker's `fetch`: `export default { fetch: createHandler() }`. Each request's work is
 * kept alive with `ctx.waitUntil` until it ends, even when the client hangs up mid-call.
 */
export function createHandler(): (
  request: Request,
  env: Record<string, unknown>,
  ctx?: HandlerContext,
) => Promise<Response>;

/**
 * The Durable Object class holding the sessions; export it from the worker and bind it as
 * THREEDS_SESSIONS. Its alarm runs the reconciler: payments in doubt are looked up, calls a
 * stopped worker left are resumed and expired sessions ended, with no request needed. With
 * `webhooks.endpoints` configured it also keeps the webhook outbox and its alarm delivers the
 * signed events (docs/backend/webhooks.md).
 */
export class ThreedsSessions {
  constructor(ctx: unknown, env: unknown);
}
