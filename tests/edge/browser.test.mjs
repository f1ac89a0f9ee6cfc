// The checkout page module (pkg/, the npm package's browser entry) in headless Chromium,
// paying through the example worker (miniflare, the real workerd) against the native
// sandbox: the page is a plain ES-module checkout in the shape of pkg/README.md's example,
// pointed at the worker instead of the native backend. A frictionless payment, a challenge
// in the page's iframe (the test types the code into the issuer's frame) and full-page
// redirects that come back to the page and finish with resume(), for every provider; each
// ends authorized with one charge in the sandbox ledger.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { freePort, ledger, startSandbox } from "./support.mjs";

const root = new URL("../../", import.meta.url);

// The checkout page's script: what to pay comes from the page's query, so that the page
// the browser comes back to after a redirect knows it too (resume() finishes that one).
const APP = `
import init, { ThreeDSecure } from "/pkg/threeds_bridge.js";
const query = new URLSearchParams(location.search);
await init();
const tds = new ThreeDSecure({
  backendUrl: query.get("backend"),
  container: document.querySelector("#challenge"),
  display: query.get("display"),
  challengeWindowSize: "auto",
});
const result = (await tds.resume()) ?? await tds.pay({
  provider: query.get("provider"), orderId: "order-" + crypto.randomUUID().slice(0, 23), amount: 1000,
  currency: { dlocal: "BRL", bambora: "CAD" }[query.get("provider")] ?? "USD",
  paymentMethod: { type: "card", number: query.get("card"), expiryMonth: 12, expiryYear: 2040, cvv: "123", holderName: "Jo Doe" },
  payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" },
}).catch((error) => ({ status: "error", error: { code: error.code } }));
const out = document.querySelector("#result");
out.dataset.paymentId = result.providerPaymentId ?? "";
out.dataset.code = result.error?.code ?? "";
out.dataset.status = result.status;
`;

let page; // the checkout page's server
let pageOrigin;
let sandbox;
let worker;
let browser;
let persistDir;

before(async () => {
  page = http.createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/html" });
        return response.end('<!doctype html><div id="challenge"></div><div id="result"></div><script type="module" src="/app.js"></script>');
      }
      if (path === "/app.js") {
        response.writeHead(200, { "content-type": "text/javascript" });
        return response.end(APP);
      }
      if (/^\/pkg\/threeds_bridge(_bg\.wasm|\.js)$/.test(path)) {
        const body = await readFile(new URL(path.slice(1), root));
        response.writeHead(200, { "content-type": path.endsWith(".wasm") ? "application/wasm" : "text/javascript" });
        return response.end(body);
      }
    } catch {}
    response.writeHead(404).end();
  });
  await new Promise((resolve) => page.listen(0, "127.0.0.1", resolve));
  pageOrigin = `http://127.0.0.1:${page.address().port}`;

  const port = await freePort();
  const workerUrl = `http://127.0.0.1:${port}`;
  sandbox = await startSandbox(workerUrl);
  persistDir = mkdtempSync(join(tmpdir(), "threeds-edge-browser-"));
  const config = sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [pageOrigin] });
  worker = await startWorker({ port, config, persistDir, onLog: () => {} });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  await worker?.mf.dispose();
  await sandbox?.stop();
  page?.close();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

/** Opens the checkout for `provider`/`card`; types `code` wherever the issuer asks. */
async function checkout(provider, card, display, code) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (error) => errors.push(String(error)));
  try {
    const query = new URLSearchParams({ backend: worker.url, provider, card, display });
    await tab.goto(`${pageOrigin}/?${query}`);
    if (code !== null) {
      // The issuer's page: in the page's iframe, or the whole page after a redirect.
      const challenge = await Promise.race([
        tab.waitForSelector("#challenge iframe", { timeout: 15000 }).then((frame) => frame.contentFrame()),
        tab.waitForURL(/\/acs\//, { timeout: 15000 }).then(() => tab.mainFrame()),
      ]);
      await challenge.waitForSelector("#otp", { timeout: 15000 });
      await challenge.fill("#otp", code);
      await challenge.click("#submit");
    }
    await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 20000 });
    assert.deepEqual(errors, []);
    return {
      status: await tab.getAttribute("#result", "data-status"),
      code: await tab.getAttribute("#result", "data-code"),
      paymentId: await tab.getAttribute("#result", "data-payment-id"),
      url: tab.url(),
    };
  } finally {
    await tab.close();
  }
}

async function paysOnce(provider, card, display, code) {
  const before = (await ledger(sandbox.url)).length;
  const result = await checkout(provider, card, display, code);
  assert.equal(result.status, "authorized", JSON.stringify(result));
  const charges = (await ledger(sandbox.url)).slice(before);
  assert.equal(charges.length, 1, JSON.stringify(charges));
  assert.equal(charges[0].provider_payment_id, result.paymentId);
  return result;
}

describe("the checkout page in Chromium, paying through the edge worker", () => {
  test("paysafe: frictionless", () => paysOnce("paysafe", "4000000000001000", "iframe", null));
  test("paysafe: challenge in the page's iframe", () => paysOnce("paysafe", "4000000000002008", "iframe", "1234"));
  test("paysafe: challenge by redirect, finished by resume()", async () => {
    const result = await paysOnce("paysafe", "4000000000002008", "redirect", "1234");
    assert.ok(result.url.startsWith(pageOrigin), `back on the checkout page: ${result.url}`);
  });
  test("dlocal: challenge on its redirect page, finished by resume()", () => paysOnce("dlocal", "4000000000002008", "redirect", "1234"));
  test("payroc: challenge through the hosted MPI, finished by resume()", () => paysOnce("payroc", "4000000000002008", "redirect", "1234"));
  test("bambora: challenge in the page's iframe", () => paysOnce("bambora", "4012007153923001", "iframe", "1234"));
});
