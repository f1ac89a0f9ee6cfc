// The one-provider workers the npm package ships as `threeds-bridge/edge/<provider>`
// (`make edge-sizes` lays them out in pkg/edge/<provider>/; docs/edge.md, "A smaller
// worker") in miniflare, the real workerd, against the native sandbox: the example worker,
// importing that export, pays with its provider (a challenge payment, authorized and charged once),
// refuses a payment for a provider it lacks as an unconfigured one, and refuses a
// configuration naming a provider it lacks at its first request, naming it in its log.
// Each is smaller than pkg/edge's worker, which has all four.
// Run by `make test-edge` (it builds them and pkg/edge first).
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { LOCAL_MERCHANT_KEY, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, confirmBody, createBody, driveToEnd, freePort, ledger, startSandbox } from "./support.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const PROVIDERS = ["payroc", "dlocal", "paysafe", "bambora"];
const CHALLENGE = "4000000000002008";
const WASM = "threeds_bridge_edge_bg.wasm";
/** What each one-provider export holds (pkg/package.json's `files` ships them). */
const PACKAGE_FILES = ["index.js", "index.d.ts", "sessions.js", "threeds_bridge_edge.js", WASM];

let sandbox;
let port;
let workerUrl;
let persistDir;

before(async () => {
  port = await freePort();
  workerUrl = `http://127.0.0.1:${port}`;
  sandbox = await startSandbox(workerUrl);
  persistDir = mkdtempSync(join(tmpdir(), "threeds-edge-one-"));
});

after(async () => {
  await sandbox?.stop();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

/** The configuration of every provider on the sandbox, or of `only` that one. */
function configFor(only) {
  const config = sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT] });
  if (only) config.providers = { [only]: config.providers[only] };
  return config;
}

/** The example worker importing `entry` with `config` and a fresh Durable Object, run by `use(worker, logs)`, then stopped. */
async function withWorker(entry, config, use) {
  let logs = "";
  const worker = await startWorker({ port, config, persistDir: mkdtempSync(join(persistDir, "worker-")), entry, onLog: (text) => { logs += text; } });
  try {
    return await use(worker, () => logs);
  } finally {
    await worker.mf.dispose();
  }
}

for (const provider of PROVIDERS) {
  test(`${provider} only: pays with ${provider}, refuses the other providers, and is smaller than the four-provider worker`, async () => {
    const entry = `./edge/${provider}`;
    const dir = `${root}pkg/edge/${provider}`;
    for (const name of PACKAGE_FILES) assert.ok(existsSync(join(dir, name)), `${dir}/${name}: build it with make edge-sizes`);
    const manifest = JSON.parse(readFileSync(`${root}pkg/package.json`, "utf8"));
    assert.deepEqual(manifest.exports[entry], { types: `${entry}/index.d.ts`, default: `${entry}/index.js` });
    assert.ok(statSync(join(dir, WASM)).size < statSync(`${root}pkg/edge/${WASM}`).size, "the other adapters are left out");

    await withWorker(entry, configFor(provider), async (worker) => {
      const before = (await ledger(sandbox.url)).length;
      const body = createBody(provider);
      const created = await api.create(worker.url, body, LOCAL_MERCHANT_KEY);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id, clientSecret } = created.body;
      const display = provider === "dlocal" ? "redirect" : "iframe";
      const started = await api.confirm(worker.url, id, confirmBody(clientSecret, CHALLENGE, display));
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const { view, landings } = await driveToEnd(worker.url, started.body, clientSecret);
      assert.equal(view.result.status, "authorized", JSON.stringify(view));
      assert.ok(landings.length >= 1, "the payment went through a challenge");
      const charges = (await ledger(sandbox.url)).slice(before);
      assert.equal(charges.length, 1, JSON.stringify(charges));
      assert.equal(charges[0].provider_payment_id, view.result.providerPaymentId);
      assert.equal((await api.read(worker.url, id, LOCAL_MERCHANT_KEY)).body.amount, body.amount);

      for (const other of PROVIDERS.filter((p) => p !== provider)) {
        const refused = await api.create(worker.url, createBody(other), LOCAL_MERCHANT_KEY);
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, "provider_not_configured");
      }
      assert.equal((await ledger(sandbox.url)).length, before + 1, "nothing else was charged");
    });

    // Every provider's section, as pkg/edge's worker takes them: refused, not half-served.
    await withWorker(entry, configFor(null), async (worker, logs) => {
      const answer = await api.create(worker.url, createBody(provider), LOCAL_MERCHANT_KEY);
      assert.equal(answer.status, 500, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, "edge_misconfigured");
      const lacking = PROVIDERS.find((p) => p !== provider);
      assert.match(logs(), new RegExp(`providers\\.${lacking}: provider_not_built: this build has no ${lacking} adapter \\(it has: ${provider}\\)`));
      const health = await fetch(`${worker.url}/healthz`);
      assert.equal(health.status, 500);
    });
  });
}

// What npm would publish (`files` in pkg/package.json, read by npm itself): every
// one-provider export whole, beside the four-provider one.
test("the npm package ships each one-provider worker whole", () => {
  const [packed] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: `${root}pkg`, encoding: "utf8", timeout: 60_000 }));
  const paths = new Set(packed.files.map((f) => f.path));
  for (const provider of PROVIDERS) {
    for (const name of PACKAGE_FILES) assert.ok(paths.has(`edge/${provider}/${name}`), `edge/${provider}/${name} is not packed`);
  }
  assert.ok(paths.has(`edge/${WASM}`), "the four-provider worker is packed too");
});
