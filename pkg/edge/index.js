// threeds-bridge/edge: the thin merchant backend as a Cloudflare worker (workerd).
//
//   import { createHandler, ThreedsSessions } from "threeds-bridge/edge";
//   export { ThreedsSessions };                 // the Durable Object class holding sessions
//   export default { fetch: createHandler() };
//
// Configuration and secrets come from the worker's env (see docs/edge.md). The wasm module
// is imported as a compiled module, as workerd (and wrangler's bundler) hand .wasm imports
// over: no fetch of the wasm file at run time.
import wasmModule from "./threeds_bridge_edge_bg.wasm";
import { initSync, handleFetch } from "./threeds_bridge_edge.js";

export { ThreedsSessions } from "./sessions.js";

let instantiated = false;

/** The worker's fetch handler: `export default { fetch: createHandler() }`. */
export function createHandler() {
  return async function fetch(request, env) {
    if (!instantiated) {
      initSync({ module: wasmModule });
      instantiated = true;
    }
    return handleFetch(request, env);
  };
}
