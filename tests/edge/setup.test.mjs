// A worker's setup, in miniflare (the real workerd): one whose configuration does not build
// answers 500 edge_misconfigured, naming what to fix (by its path, as the native config
// does) and no secret's value; a second merchant key resolves from its own secret; one whose
// Durable Object cannot answer is not ready (/readyz 503) but alive; and one whose port is
// taken is refused, leaving nothing alive. Each test starts a worker of its own; the sandbox
// is there only for the configurations' URLs and the rotation test's creates.
// Run by `make test-edge`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

import { LOCAL_MERCHANT_KEY, SANDBOX_SECRETS, modules, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, createBody, freePort, startSandbox } from "./support.mjs";

const KEY = LOCAL_MERCHANT_KEY;

let sandbox;
let workerUrl;

before(async () => {
  workerUrl = `http://127.0.0.1:${await freePort()}`;
  sandbox = await startSandbox(workerUrl);
});

after(async () => {
  await sandbox?.stop();
});

describe("a worker whose configuration does not build answers 500 edge_misconfigured, naming what to fix and no secret", () => {
  /** Starts a worker with `config` and `secrets`, makes one request: its answer and what it printed. */
  async function misconfigured(config, secrets) {
    let printed = "";
    const bare = await startWorker({ port: 0, config, persistDir: false, secrets, onLog: (t) => { printed += t; } });
    try {
      const answer = await api.read(bare.url, "0123456789abcdef0123456789abcdef", KEY);
      // console.error reaches miniflare's stdio a moment after the answer.
      for (let i = 0; i < 50 && !printed.includes("threeds-bridge edge:"); i += 1) await new Promise((r) => setTimeout(r, 20));
      return { answer, printed };
    } finally {
      await bare.mf.dispose();
    }
  }

  function assertMisconfigured({ answer, printed }, reason, secrets) {
    assert.equal(answer.status, 500, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, "edge_misconfigured");
    assert.match(printed, reason);
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!printed.includes(value), `the log does not show ${name}'s value:\n${printed}`);
      assert.ok(!JSON.stringify(answer.body).includes(value));
    }
  }

  const base = () => sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT] });

  test("the configuration is not JSON", async () => {
    assertMisconfigured(await misconfigured("{not json", {}), /THREEDS_BRIDGE_CONFIG is not JSON/, {});
  });

  test("a key given twice in the JSON text is named by its path, not settled by the last", async () => {
    const text = JSON.stringify(base()).replace('"providers":{', '"providers":{"paysafe":{},');
    assert.notEqual(text, JSON.stringify(base()));
    assertMisconfigured(
      await misconfigured(text, SANDBOX_SECRETS),
      /THREEDS_BRIDGE_CONFIG: providers\.paysafe: given twice \(line 1\)/,
      SANDBOX_SECRETS,
    );
  });

  test("the MERCHANT_API_KEY secret is not set", async () => {
    const { MERCHANT_API_KEY: _, ...others } = SANDBOX_SECRETS;
    assertMisconfigured(
      await misconfigured(base(), others),
      /THREEDS_BRIDGE_CONFIG: merchant_api_keys\[0\]: the secret MERCHANT_API_KEY is not set/,
      others,
    );
  });

  test("the merchant key is too short", async () => {
    const secrets = { ...SANDBOX_SECRETS, MERCHANT_API_KEY: "short-key-x9" };
    assertMisconfigured(await misconfigured(base(), secrets), /merchant_api_keys\[0\]: a key needs at least 16 characters/, secrets);
  });

  test("a secret where the configuration wants something else (a key list written without brackets)", async () => {
    const secrets = { ...SANDBOX_SECRETS, MERCHANT_API_KEY: "merchant-key-never-printed" };
    const config = { ...base(), merchant_api_keys: { env: "MERCHANT_API_KEY" } };
    assertMisconfigured(
      await misconfigured(config, secrets),
      /THREEDS_BRIDGE_CONFIG: merchant_api_keys: wrong type \(string\), expected an array/,
      secrets,
    );
  });

  test("a misspelt key is named by its full path with the key meant, as the native config names it", async () => {
    const config = base();
    const { api_user: user, ...paysafe } = config.providers.paysafe;
    config.providers.paysafe = { ...paysafe, api_usr: user };
    assertMisconfigured(
      await misconfigured(config, SANDBOX_SECRETS),
      /THREEDS_BRIDGE_CONFIG: providers\.paysafe\.api_usr: unknown key; did you mean `api_user`\? \(expected one of: base_url, api_user, api_password, account_id\)/,
      SANDBOX_SECRETS,
    );
  });

  test("a value of the wrong type is named by its path and the type wanted, not shown", async () => {
    const config = { ...base(), calls: { timeout_ms: "5s", attempts: 3, backoff_ms: 100 } };
    assertMisconfigured(
      await misconfigured(config, SANDBOX_SECRETS),
      /THREEDS_BRIDGE_CONFIG: calls\.timeout_ms: wrong type \(string\), expected a non-negative integer/,
      SANDBOX_SECRETS,
    );
  });

  test("a second key (rotation) resolves from its own secret: both keys create", async () => {
    const config = { ...base(), merchant_api_keys: [{ env: "MERCHANT_API_KEY" }, { env: "MERCHANT_API_KEY_NEXT" }] };
    const secrets = { ...SANDBOX_SECRETS, MERCHANT_API_KEY_NEXT: "the-next-merchant-key-0123" };
    const worker = await startWorker({ port: 0, config, persistDir: false, secrets, onLog: () => {} });
    try {
      for (const key of [KEY, secrets.MERCHANT_API_KEY_NEXT]) {
        const created = await api.create(worker.url, createBody("paysafe"), key);
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      const stranger = await api.create(worker.url, createBody("paysafe"), "the-previous-merchant-key-0");
      assert.equal(stranger.status, 401);
    } finally {
      await worker.mf.dispose();
    }
  });
});

test("/readyz is 503 store_unavailable while the Durable Object cannot answer; /healthz stays 200", async () => {
  // The same worker, its THREEDS_SESSIONS binding a real Durable Object namespace (of a
  // second worker) whose object rejects every call, as one whose storage fails does.
  const failing = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        name: "worker",
        modules: modules(),
        modulesRoot: fileURLToPath(new URL("../../examples/edge-worker/", import.meta.url)),
        compatibilityDate: "2025-09-01",
        bindings: { THREEDS_BRIDGE_CONFIG: sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT] }), ...SANDBOX_SECRETS },
        durableObjects: { THREEDS_SESSIONS: { className: "FailingSessions", scriptName: "failing-store" } },
      },
      {
        name: "failing-store",
        modules: true,
        compatibilityDate: "2025-09-01",
        script: `
          import { DurableObject } from "cloudflare:workers";
          const unavailable = () => new Error("storage unavailable");
          export class FailingSessions extends DurableObject {
            async create() { throw unavailable(); }
            async load() { throw unavailable(); }
            async loadByOrder() { throw unavailable(); }
            async swap() { throw unavailable(); }
            async due() { throw unavailable(); }
          }
          export default { fetch: () => new Response(null, { status: 404 }) };
        `,
      },
    ],
    // Read and dropped: an unread pipe fills and then blocks workerd's next log line.
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
  });
  try {
    const url = (await failing.ready).toString().replace(/\/$/, "");
    const ready = await fetch(`${url}/readyz`, { headers: { "x-request-id": "edge-probe-down" } });
    const body = await ready.json();
    assert.equal(ready.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, "store_unavailable");
    assert.equal(ready.headers.get("x-request-id"), "edge-probe-down");
    assert.equal(ready.headers.get("cache-control"), "no-store");
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "alive" });
    const read = await api.read(url, "0123456789abcdef0123456789abcdef", KEY);
    assert.equal(read.status, 503, JSON.stringify(read.body));
    assert.equal(read.body.error.code, "store_unavailable");
  } finally {
    await failing.dispose();
  }
});

// A worker that cannot start (its port taken by another server) is refused, and the
// process that asked may end: before, the half-started miniflare kept the test file alive
// after its hook failed, and `make test` hung instead of failing.
test("a worker whose port is taken is refused with ERR_ADDRESS_IN_USE and keeps nothing alive", async () => {
  const helper = fileURLToPath(new URL("../../examples/edge-worker/miniflare.mjs", import.meta.url));
  const script = `
    import http from "node:http";
    import { sandboxConfig, startWorker } from ${JSON.stringify(helper)};
    const taken = http.createServer();
    await new Promise((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = taken.address().port;
    const config = sandboxConfig({ publicUrl: "http://127.0.0.1:" + port, sandboxUrl: "http://127.0.0.1:9", checkoutOrigins: ["${CHECKOUT}"] });
    try { await startWorker({ port, config, onLog: () => {} }); console.log("started"); }
    catch (error) { console.log("refused " + error.code); }
    taken.close();
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "ignore"] });
  let printed = "";
  child.stdout.on("data", (chunk) => { printed += chunk; });
  const ended = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const code = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve("still running"), 30_000))]);
  child.kill("SIGKILL");
  assert.equal(code, 0, `the process did not end by itself; it printed ${printed}`);
  assert.equal(printed.trim(), "refused ERR_ADDRESS_IN_USE");
});
