// threeds-bridge/edge: the thin merchant backend as a Cloudflare worker (workerd).
//
//   import { createHandler, ThreedsSessions } from "threeds-bridge/edge";
//   export { ThreedsSessions };                 // the Durable Object class holding sessions
//   export default { fetch: createHandler() };
//
// Configuration and secrets come from the worker's env (see docs/edge.md). The wasm module
// is imported as a compiled module, as workerd (and wrangler's bundler) hand .wasm imports
// over: no fetch of the wasm file at run time. ThreedsSessions imports the same module for
// its alarm (the reconciler's sweep); it is instantiated once per isolate.
import * as workers from "cloudflare:workers";
import wasmModule from "./threeds_bridge_edge_bg.wasm";
import { initSync, handleFetch, prepare } from "./threeds_bridge_edge.js";

export { ThreedsSessions } from "./sessions.js";

/** The worker's fetch handler: `export default { fetch: createHandler() }`. */
export function createHandler() {
  prepareAtLoad();
  return async function fetch(request, env, ctx) {
    initSync({ module: wasmModule });
    const answer = handleFetch(request, env);
    // A client that hangs up must not cancel a provider call in flight: the provider
    // finishes a charge whether or not anyone waits, so the work runs to its end and the
    // page's next read learns the result (docs/edge.md).
    ctx?.waitUntil(answer.catch(() => {}));
    return answer;
  };
}

// Called at the worker module's top level (createHandler()): builds the backend from the `env`
// that `cloudflare:workers` offers there and warms its request path up (two unlogged requests
// that need no IO, so V8 has compiled their wasm functions), so that the isolate's first
// request finds both done (docs/edge/measurements.md, "Cold start"). A runtime without that
// `env`, or a configuration that does not build, leaves it to the first request, which reports
// what is wrong.
function prepareAtLoad() {
  const env = workers.env;
  if (!env) return;
  try {
    initSync({ module: wasmModule });
    prepare(env);
  } catch {
    // the first request instantiates and builds again, and answers for it
  }
}
