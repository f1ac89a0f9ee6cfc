// The edge workers in plain Node.js, in this process, for what workerd does not show: the
// wasm profiled at full speed (scripts/profile-edge.mjs; workerd's inspector turns it into
// debug code) and the wasm's own memory (body.test.mjs). Everything else about the worker
// is tested in workerd (miniflare).
//
// A worker runs as it does there: its module with the imports workerd hands it, its fetch
// handler called with a web Request, its sessions the real ThreedsSessions
// (pkg/edge/sessions.js) over an in-memory stand-in for the Durable Object's storage.
import { register } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

import { SANDBOX_SECRETS, sandboxConfig } from "../../examples/edge-worker/miniflare.mjs";
import { CHECKOUT } from "./support.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Where a worker in this process is reached (no socket: its fetch handler is called). */
export const BASE = "https://worker.invalid";

/**
 * Lets this process import the workers as workerd (or wrangler's bundler) would hand them
 * their imports: the package's own name, the .wasm import as a compiled module,
 * `cloudflare:workers` as the Durable Object base class with no module-level env (so
 * createHandler() builds the backend at the first request, as a runtime without one
 * would). `pkg`: the directory of the wasm and its glue (pkg/edge, or a names-kept build).
 * Once per process, before the first worker is imported.
 */
export function importAsWorkerd(pkg = `${root}pkg/edge`) {
  const hooks = `
const pkg = ${JSON.stringify(pathToFileURL(`${pkg}/`).href)};
const edge = ${JSON.stringify(pathToFileURL(`${root}pkg/edge/`).href)};
const workers = "data:text/javascript," + encodeURIComponent(
  "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } } export const env = undefined;");
export async function resolve(specifier, context, next) {
  if (specifier === "cloudflare:workers") return { url: workers, shortCircuit: true };
  if (specifier === "threeds-bridge/edge") return { url: edge + "index.js", shortCircuit: true };
  if (specifier === "./threeds-bridge/sessions.js") return { url: edge + "sessions.js", shortCircuit: true };
  if (specifier === "./threeds_bridge_edge.js") return { url: pkg + "threeds_bridge_edge.js", shortCircuit: true };
  if (specifier === "./threeds_bridge_edge_bg.wasm") return { url: pkg + "threeds_bridge_edge_bg.wasm", shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith(".wasm")) return next(url, context);
  const source = "import { readFileSync } from 'node:fs';" +
    "export default new WebAssembly.Module(readFileSync(new URL(" + JSON.stringify(url) + ")));";
  return { format: "module", source, shortCircuit: true };
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** The Durable Object storage calls sessions.js makes, over a Map (values copied as storage does). */
class MemoryStorage {
  #entries = new Map();
  #alarm = null;
  async get(keys) {
    if (!Array.isArray(keys)) return structuredClone(this.#entries.get(keys));
    return new Map(keys.filter((k) => this.#entries.has(k)).map((k) => [k, structuredClone(this.#entries.get(k))]));
  }
  async put(key, value) {
    const entries = typeof key === "string" ? { [key]: value } : key;
    for (const [k, v] of Object.entries(entries)) this.#entries.set(k, structuredClone(v));
  }
  async delete(keys) {
    if (!Array.isArray(keys)) return this.#entries.delete(keys);
    return keys.filter((k) => this.#entries.delete(k)).length;
  }
  async list({ prefix = "", startAfter, end, limit = Infinity } = {}) {
    const keys = [...this.#entries.keys()]
      .filter((k) => k.startsWith(prefix) && (startAfter === undefined || k > startAfter) && (end === undefined || k < end))
      .sort()
      .slice(0, limit);
    return new Map(keys.map((k) => [k, structuredClone(this.#entries.get(k))]));
  }
  async getAlarm() {
    return this.#alarm;
  }
  async setAlarm(at) {
    this.#alarm = at;
  }
}

/**
 * The worker of `file` (examples/edge-worker/worker.js, or bench-edge's baseline) with an
 * env and a session object of its own, configured for the sandbox at `sandboxUrl`: its
 * `fetch(path, init)` answers the web Response. The wasm worker builds its backend from the
 * first env it serves and keeps it, once per isolate as in workerd: in one process, load it
 * once.
 */
export async function workerInNode(file, sandboxUrl) {
  const worker = (await import(file)).default;
  const { ThreedsSessions } = await import(`${root}pkg/edge/sessions.js`);
  const config = sandboxConfig({ publicUrl: BASE, sandboxUrl, checkoutOrigins: [CHECKOUT] });
  const env = { THREEDS_BRIDGE_CONFIG: config, ...SANDBOX_SECRETS };
  const sessions = new ThreedsSessions({ storage: new MemoryStorage(), blockConcurrencyWhile: (work) => work() }, env);
  env.THREEDS_SESSIONS = { idFromName: (name) => name, get: () => sessions };
  const ctx = { waitUntil() {} };
  return { fetch: (path, init) => worker.fetch(new Request(`${BASE}${path}`, init), env, ctx) };
}
