// make bench-edge: the edge worker's costs, printed, never asserted.
//   - cold start: a new workerd (miniflare) with the example worker, then its first
//     request (wasm instantiate, config from env, one Durable Object read);
//   - warm payment: the merchant's create (POST /v1/payments, a store write) and the page's
//     confirm (POST /v1/payments/{id}/confirm, frictionless card: to the final result, or
//     for Payroc to its hosted-MPI redirect) through the worker and through the native
//     backend (`threeds-bridge serve`), both against the same local sandbox, which answers
//     at once: the difference is the host;
//   - the edge wasm and its JS glue, gzipped.
// Medians of a few runs on this machine (2 shared cores): for comparison, not a promise.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";

import { LOCAL_MERCHANT_KEY, SANDBOX_SECRETS, sandboxConfig, startWorker } from "../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, confirmBody, createBody, freePort, sandboxBinary, startSandbox } from "../tests/edge/support.mjs";

const COLD_RUNS = 5;
const WARM_RUNS = 20;
const PROVIDERS = ["payroc", "dlocal", "paysafe", "bambora"];

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (value) => `${value.toFixed(1)} ms`;

/** Median create and confirm times of `provider`'s payments through `base`: `[create, confirm]`. */
async function timePayments(base, provider) {
  const creates = [];
  const confirms = [];
  for (let i = 0; i < WARM_RUNS + 2; i += 1) {
    const t0 = performance.now();
    const created = await api.create(base, createBody(provider), LOCAL_MERCHANT_KEY);
    const t1 = performance.now();
    if (created.status !== 201) {
      throw new Error(`${provider} create via ${base}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    const { id, clientSecret } = created.body;
    const confirmed = await api.confirm(base, id, confirmBody(clientSecret, "4000000000001000", "iframe"));
    const t2 = performance.now();
    if (confirmed.status !== 200) {
      throw new Error(`${provider} confirm via ${base}: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
    }
    if (i >= 2) { // the first two warm the caches (Payroc's token)
      creates.push(t1 - t0);
      confirms.push(t2 - t1);
    }
  }
  return [median(creates), median(confirms)];
}

/** `threeds-bridge serve` on `port` over the sandbox; resolves once it answers. */
async function startNative(port, sandboxUrl) {
  const dir = mkdtempSync(join(tmpdir(), "threeds-bench-"));
  const config = { listen: `127.0.0.1:${port}`, store: { kind: "memory" },
    ...sandboxConfig({ publicUrl: `http://127.0.0.1:${port}`, sandboxUrl, checkoutOrigins: [CHECKOUT] }) };
  writeFileSync(join(dir, "serve.json"), JSON.stringify(config));
  const child = spawn(sandboxBinary(), ["serve", "--config", join(dir, "serve.json")], {
    stdio: ["ignore", "ignore", "ignore"],
    env: { ...process.env, ...SANDBOX_SECRETS },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 500; i += 1) {
    const up = await fetch(`${url}/v1/complete.js`).then(() => true, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const stop = () => new Promise((done) => { child.once("exit", done); child.kill("SIGINT"); })
    .then(() => rmSync(dir, { recursive: true, force: true }));
  return { url, stop };
}

const workerPort = await freePort();
const workerUrl = `http://127.0.0.1:${workerPort}`;
const sandbox = await startSandbox(workerUrl);
const config = sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT] });
try {
  // Cold starts.
  const boot = [];
  const first = [];
  for (let i = 0; i < COLD_RUNS; i += 1) {
    const persistDir = mkdtempSync(join(tmpdir(), "threeds-bench-"));
    const t0 = performance.now();
    const worker = await startWorker({ port: workerPort, config, persistDir });
    const t1 = performance.now();
    const answer = await api.read(worker.url, "0123456789abcdef0123456789abcdef", LOCAL_MERCHANT_KEY);
    const t2 = performance.now();
    if (answer.status !== 404) throw new Error(`cold start: ${answer.status}`);
    boot.push(t1 - t0);
    first.push(t2 - t1);
    await worker.mf.dispose();
    rmSync(persistDir, { recursive: true, force: true });
  }

  // Warm payments, edge and native.
  const persistDir = mkdtempSync(join(tmpdir(), "threeds-bench-"));
  const worker = await startWorker({ port: workerPort, config, persistDir });
  const native = await startNative(await freePort(), sandbox.url);
  const warm = [];
  try {
    for (const provider of PROVIDERS) {
      warm.push([provider, await timePayments(worker.url, provider), await timePayments(native.url, provider)]);
    }
  } finally {
    await worker.mf.dispose();
    await native.stop();
    rmSync(persistDir, { recursive: true, force: true });
  }

  const wasm = readFileSync(new URL("../pkg/edge/threeds_bridge_edge_bg.wasm", import.meta.url));
  const glue = readFileSync(new URL("../pkg/edge/threeds_bridge_edge.js", import.meta.url));
  const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

  console.log(`bench-edge (medians; cold ${COLD_RUNS} runs, warm ${WARM_RUNS} payments per provider and host)`);
  console.log(`  cold: workerd start (miniflare ready)        ${ms(median(boot))}`);
  console.log(`  cold: first request (wasm instantiate + DO)   ${ms(median(first))}`);
  for (const [step, label] of [[0, "create (merchant), POST /v1/payments"], [1, "confirm (page), frictionless card"]]) {
    console.log(`  warm: ${label.padEnd(45)} edge        native      edge - native`);
    for (const [provider, edge, nat] of warm) {
      console.log(`        ${provider.padEnd(45)} ${ms(edge[step]).padEnd(11)} ${ms(nat[step]).padEnd(11)} ${ms(edge[step] - nat[step])}`);
    }
  }
  console.log(`  size: edge wasm ${wasm.length} B, gzip ${gz(wasm)} B; JS glue gzip ${gz(glue)} B`);
} finally {
  await sandbox.stop();
}
