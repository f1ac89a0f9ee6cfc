// Runs examples/edge-worker in miniflare (the real workerd) the way wrangler would
// deploy it: worker.js, `threeds-bridge/edge` from pkg/edge (build it with `make edge`),
// the wasm as a compiled module, the ThreedsSessions Durable Object persisted on disk,
// and THREEDS_BRIDGE_CONFIG pointing every provider at a sandbox.
// Used by `node examples/edge-worker/local.mjs`, tests/edge/ and
// scripts/bench-edge.mjs.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const here = fileURLToPath(new URL(".", import.meta.url));
const pkg = new URL("../../pkg/", import.meta.url);

/** The index.js of the package's export `entry` ("./edge", "./edge/paysafe"), found as npm finds it. */
function edgeEntry(entry) {
  const manifest = JSON.parse(readFileSync(new URL("package.json", pkg), "utf8"));
  const target = manifest.exports?.[entry];
  const path = typeof target === "string" ? target : target?.workerd ?? target?.default;
  if (!path) throw new Error(`pkg/package.json exports no ${entry}`);
  return fileURLToPath(new URL(path, pkg));
}

// The modules as workerd names them (what wrangler's bundler would inline): the worker
// imports the package's export `entry` by its bare specifier ("threeds-bridge/edge", or
// "threeds-bridge/edge/paysafe" for the one-provider worker `make edge-sizes` lays out), a
// module of that name, and that module's relative imports resolve beside it. Exported for
// tests that bind other objects. `build`: a directory holding another build's wasm and glue
// (`make edge EDGE_OUT=…`), used instead of the export's own; the rest is the export's.
export function modules(build, entry = "./edge") {
  const file = (path) => readFileSync(path);
  const index = edgeEntry(entry);
  const dir = index.slice(0, index.lastIndexOf("/") + 1);
  const wasm = build ? build.replace(/\/?$/, "/") : dir;
  const specifier = `threeds-bridge${entry.slice(1)}`;
  const beside = `${here}${specifier.slice(0, specifier.lastIndexOf("/") + 1)}`;
  const worker = file(`${here}worker.js`).toString().replace('"threeds-bridge/edge"', JSON.stringify(specifier));
  return [
    { type: "ESModule", path: `${here}worker.js`, contents: worker },
    { type: "ESModule", path: `${here}${specifier}`, contents: file(index) },
    { type: "ESModule", path: `${beside}sessions.js`, contents: file(`${dir}sessions.js`) },
    { type: "ESModule", path: `${beside}threeds_bridge_edge.js`, contents: file(`${wasm}threeds_bridge_edge.js`) },
    { type: "CompiledWasm", path: `${beside}threeds_bridge_edge_bg.wasm`, contents: file(`${wasm}threeds_bridge_edge_bg.wasm`) },
  ];
}

/**
 * The backend configuration for a worker at `publicUrl` over the sandbox at `sandboxUrl`.
 * The merchant's API key is a secret, MERCHANT_API_KEY, as in wrangler.toml;
 * `max_confirm_attempts` is left to the core's default (3) unless given.
 */
export function sandboxConfig({ publicUrl, sandboxUrl, checkoutOrigins, calls, maxConfirmAttempts }) {
  return {
    public_url: publicUrl,
    checkout_origins: checkoutOrigins,
    merchant_api_keys: [{ env: "MERCHANT_API_KEY" }],
    ...(maxConfirmAttempts !== undefined && { max_confirm_attempts: maxConfirmAttempts }),
    session_ttl_seconds: 1800,
    calls: calls ?? { timeout_ms: 5000, attempts: 3, backoff_ms: 100 },
    providers: {
      payroc: {
        identity_url: `${sandboxUrl}/payroc/identity`,
        api_url: `${sandboxUrl}/payroc/api/v1`,
        payments_url: `${sandboxUrl}/payroc/payments`,
        api_key: { env: "PAYROC_API_KEY" },
        processing_terminal_id: "4479001",
      },
      dlocal: {
        base_url: `${sandboxUrl}/dlocal`,
        x_login: "sak223k2wdksdl2",
        x_trans_key: { env: "DLOCAL_TRANS_KEY" },
        secret_key: { env: "DLOCAL_SECRET_KEY" },
      },
      paysafe: {
        base_url: `${sandboxUrl}/paysafe`,
        api_user: "sandbox-paysafe-user",
        api_password: { env: "PAYSAFE_API_PASSWORD" },
        account_id: "89987201",
      },
      bambora: {
        base_url: `${sandboxUrl}/bambora`,
        merchant_id: "300200578",
        api_passcode: { env: "BAMBORA_API_PASSCODE" },
        currency: "CAD",
      },
    },
  };
}

/**
 * The merchant API key a local worker takes (sandbox only; the demo's, contract.md): what
 * the merchant's server sends as `Authorization: Bearer …` to create and read payments.
 */
export const LOCAL_MERCHANT_KEY = "demo-merchant-key";

/**
 * The secrets of a local worker, as `wrangler secret put` would set them: the sandbox's
 * built-in provider credentials (../shared/contract.md) and the local merchant key.
 */
export const SANDBOX_SECRETS = {
  MERCHANT_API_KEY: LOCAL_MERCHANT_KEY,
  PAYROC_API_KEY: "sandbox-payroc-api-key",
  DLOCAL_TRANS_KEY: "fm12O7G9",
  DLOCAL_SECRET_KEY: "sandbox-dlocal-secret",
  PAYSAFE_API_PASSWORD: "sandbox-paysafe-password",
  BAMBORA_API_PASSCODE: "4BaD82D9197b4cc4b70a221911eE9f70",
};

/**
 * A started worker: `{ mf, url }`. `persistDir` keeps the Durable Object's storage on disk,
 * so a worker started again with the same directory sees the same sessions. `onLog(text)`,
 * when given, receives the worker's console output instead of this process's stdout.
 * `build`: another build's wasm and glue, and `entry`: the package's export the worker
 * imports ("./edge" unless given), as `modules(build, entry)` takes them.
 */
export async function startWorker({ port, config, persistDir, secrets = SANDBOX_SECRETS, onLog, build, entry }) {
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    modules: modules(build, entry),
    modulesRoot: here,
    compatibilityDate: "2025-09-01",
    bindings: { THREEDS_BRIDGE_CONFIG: config, ...secrets },
    durableObjects: { THREEDS_SESSIONS: "ThreedsSessions" },
    durableObjectsPersist: persistDir ?? false,
    ...(onLog && {
      handleRuntimeStdio(stdout, stderr) {
        stdout.on("data", (chunk) => onLog(chunk.toString()));
        stderr.on("data", (chunk) => onLog(chunk.toString()));
      },
    }),
  });
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    return { mf, url };
  } catch (error) {
    // One that never started (its port taken, say) is let go of, or its loopback server
    // keeps this process alive after the caller gave up on it.
    await mf.dispose().catch(() => {});
    throw error;
  }
}
