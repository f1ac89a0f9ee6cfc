// The thin merchant backend as a Cloudflare worker: the whole of it.
// Configuration and secrets: wrangler.toml ([vars] THREEDS_BRIDGE_CONFIG) and
// `wrangler secret put NAME`; sessions: the ThreedsSessions Durable Object. See README.md.
import { createHandler, ThreedsSessions } from "threeds-bridge/edge";

export { ThreedsSessions };

export default { fetch: createHandler() };
