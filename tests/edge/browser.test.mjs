// The checkout page module (pkg/, the npm package's browser entry) in headless Chromium,
// paying through the example worker (miniflare, the real workerd) against the native
// sandbox: the page is a plain ES-module checkout in the shape of pkg/README.md's example,
// pointed at the worker instead of the native backend. Its own server plays the shop's:
// it creates each payment at the worker with the merchant key (the page never sees the
// key) and hands the page the client secret, which the page confirms with
// pay({ clientSecret, paymentMethod }) (contract.md, "Who may create a payment"). A
// frictionless payment, a challenge in the page's iframe (the test types the code into
// the issuer's frame) and full-page redirects that come back to the page and finish with
// resume(), for every provider; each ends authorized with one charge of the shop's amount
// in the sandbox ledger.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { LOCAL_MERCHANT_KEY, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { api, createBody, freePort, ledger, startSandbox } from "./support.mjs";

const root = new URL("../../", import.meta.url);
/** What the shop charges, whatever the page does. */
const AMOUNT = 1000;

// The checkout page's script: the provider and card come from the page's query, so that
// the page the browser comes back to after a redirect knows them too (resume() finishes
// that one). What is paid is the shop server's business: the page asks it for a payment
// and gets only the client secret.
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
async function checkout() {
  const shop = await fetch("/shop/payments", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ provider: query.get("provider"), returnUrl: location.href }),
  });
  if (!shop.ok) throw Object.assign(new Error("shop"), { code: "shop_" + shop.status });
  const { clientSecret } = await shop.json();
  return tds.pay({
    clientSecret,
    paymentMethod: { type: "card", number: query.get("card"), expiryMonth: 12, expiryYear: 2040, cvv: "123", holderName: "Jo Doe" },
  });
}
const result = (await tds.resume()) ?? await checkout().catch((error) => ({ status: "error", error: { code: error.code } }));
const out = document.querySelector("#result");
out.dataset.paymentId = result.providerPaymentId ?? "";
out.dataset.amount = result.amount ?? "";
out.dataset.orderId = result.orderId ?? "";
out.dataset.code = result.error?.code ?? "";
out.dataset.status = result.status;
`;

// Without the module: the page's own confirm (JSON, so preflighted) and its read with
// X-Client-Secret (a custom header, preflighted too) pass the worker's CORS in Chromium,
// and a page that tried to create with a key is stopped by the preflight.
const RAW = `
const query = new URLSearchParams(location.search);
const backend = query.get("backend");
const out = document.querySelector("#result");
const shop = await (await fetch("/shop/payments", {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ provider: "paysafe", returnUrl: location.href }),
})).json();
const id = shop.clientSecret.split("_secret_")[0];
const confirm = await fetch(backend + "/v1/payments/" + id + "/confirm", {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({
    clientSecret: shop.clientSecret,
    paymentMethod: { type: "card", number: query.get("card"), expiryMonth: 12, expiryYear: 2040, cvv: "123", holderName: "Jo Doe" },
    browser: { javaEnabled: false, javascriptEnabled: true, language: navigator.language, colorDepth: screen.colorDepth,
      screenHeight: screen.height, screenWidth: screen.width, timeZone: new Date().getTimezoneOffset(), userAgent: navigator.userAgent },
    display: "iframe", windowSize: "03", checkoutOrigin: location.origin,
  }),
});
const view = await (await fetch(backend + "/v1/payments/" + id, { headers: { "x-client-secret": shop.clientSecret } })).json();
const keyed = await fetch(backend + "/v1/payments", {
  method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + query.get("key") },
  body: JSON.stringify({ provider: "paysafe", orderId: "order-from-a-page", amount: 1, currency: "USD" }),
}).then((r) => "answered " + r.status, (e) => "refused: " + e.name);
out.dataset.paymentId = view.result?.providerPaymentId ?? "";
out.dataset.confirm = String(confirm.status);
out.dataset.amount = String(view.amount);
out.dataset.keyed = keyed;
out.dataset.status = view.result?.status ?? view.status;
`;

/** Reads a request's JSON body. */
function readJson(request) {
  return new Promise((resolve, reject) => {
    let text = "";
    request.on("data", (chunk) => { text += chunk; });
    request.on("end", () => { try { resolve(JSON.parse(text)); } catch (error) { reject(error); } });
    request.on("error", reject);
  });
}

let page; // the checkout page's server
let pageOrigin;
let sandbox;
let worker;
let browser;
let persistDir;
/** The orders the shop created, by payment id. */
const orders = new Map();

before(async () => {
  page = http.createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/html" });
        return response.end('<!doctype html><div id="challenge"></div><div id="result"></div><script type="module" src="/app.js"></script>');
      }
      if (path === "/app.js" || path === "/raw.js") {
        response.writeHead(200, { "content-type": "text/javascript" });
        return response.end(path === "/app.js" ? APP : RAW);
      }
      if (path === "/raw") {
        response.writeHead(200, { "content-type": "text/html" });
        return response.end('<!doctype html><div id="result"></div><script type="module" src="/raw.js"></script>');
      }
      if (path === "/shop/payments" && request.method === "POST") {
        // The shop's server: it decides the order and the amount, creates the payment
        // with its key, and gives the page the client secret only.
        const { provider, returnUrl } = await readJson(request);
        const created = await api.create(worker.url, { ...createBody(provider, { amount: AMOUNT }), returnUrl }, LOCAL_MERCHANT_KEY);
        if (created.status !== 201) {
          response.writeHead(502, { "content-type": "application/json" });
          return response.end(JSON.stringify(created.body));
        }
        orders.set(created.body.id, created.body);
        response.writeHead(200, { "content-type": "application/json" });
        return response.end(JSON.stringify({ clientSecret: created.body.clientSecret }));
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
      // The issuer's page: in the page's iframe, or the whole page after a redirect; or
      // the result, when the payment ended before any challenge (then it says why).
      const challenge = await Promise.race([
        tab.waitForSelector("#challenge iframe", { timeout: 15000 }).then((frame) => frame.contentFrame()),
        tab.waitForURL(/\/acs\//, { timeout: 15000 }).then(() => tab.mainFrame()),
        tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 15000 }).then(() => null),
      ]);
      if (challenge) {
        await challenge.waitForSelector("#otp", { timeout: 15000 });
        await challenge.fill("#otp", code);
        await challenge.click("#submit");
      }
    }
    await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 20000 });
    assert.deepEqual(errors, []);
    const data = (name) => tab.getAttribute("#result", `data-${name}`);
    return {
      status: await data("status"),
      code: await data("code"),
      paymentId: await data("payment-id"),
      amount: await data("amount"),
      orderId: await data("order-id"),
      url: tab.url(),
    };
  } finally {
    await tab.close();
  }
}

async function paysOnce(provider, card, display, code) {
  const before = (await ledger(sandbox.url)).length;
  const ordersBefore = orders.size;
  const result = await checkout(provider, card, display, code);
  assert.equal(result.status, "authorized", JSON.stringify(result));
  assert.equal(orders.size, ordersBefore + 1, "the shop created one payment");
  const order = [...orders.values()].at(-1);
  // The result shows what the shop created, and the shop's own read (with its key) agrees.
  assert.equal(result.amount, String(AMOUNT));
  assert.equal(result.orderId, order.orderId);
  const read = await api.read(worker.url, order.id, LOCAL_MERCHANT_KEY);
  assert.equal(read.body.status, "authorized", JSON.stringify(read.body));
  const charges = (await ledger(sandbox.url)).slice(before);
  assert.equal(charges.length, 1, JSON.stringify(charges));
  assert.equal(charges[0].provider_payment_id, result.paymentId);
  assert.equal(charges[0].amount, AMOUNT);
  return result;
}

describe("the checkout page in Chromium, paying through the edge worker", () => {
  test("without the module: the page's confirm and its X-Client-Secret read pass CORS; a key cannot be sent", async () => {
    const before = (await ledger(sandbox.url)).length;
    const tab = await browser.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    try {
      // The key in the page's query only to show that a page holding one still cannot use it.
      const query = new URLSearchParams({ backend: worker.url, card: "4000000000001000", key: LOCAL_MERCHANT_KEY });
      await tab.goto(`${pageOrigin}/raw?${query}`);
      await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 20000 });
      assert.deepEqual(errors, []);
      const data = (name) => tab.getAttribute("#result", `data-${name}`);
      assert.equal(await data("confirm"), "200");
      assert.equal(await data("status"), "authorized");
      assert.equal(await data("amount"), String(AMOUNT));
      assert.equal(await data("keyed"), "refused: TypeError", "the preflight does not allow Authorization");
      const charges = (await ledger(sandbox.url)).slice(before);
      assert.equal(charges.length, 1, JSON.stringify(charges));
      assert.equal(charges[0].provider_payment_id, await data("payment-id"));
      assert.equal(charges[0].amount, AMOUNT);
    } finally {
      await tab.close();
    }
  });

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
