// The demo under the things real cardholders do: reload in the middle of a redirect
// challenge, double-click Pay; what a page (or a script posing as one) may not do: create
// a payment, or change the amount the shop's server set; and the page's own promises: a
// strict CSP on every page, labels on every field, keyboard use, a "what happened" panel
// without card numbers, shown only to the holder of the payment's client secret.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  FRICTIONLESS_CARD, answerChallenge, challengeFrame, chargesOf, confirmAsPage, fillAndPay, launchBrowser,
  ledger, merchantApi, result, startDemo, withCheckout,
} from "./support.mjs";
import { CURRENCY, PROVIDERS } from "./scenarios.mjs";

let demo;
let browser;

before(async () => {
  demo = await startDemo("robustness");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

for (const provider of PROVIDERS) {
  test(`${provider}: a reload in the middle of a redirect challenge still finishes the payment`, { timeout: 90_000 }, async (t) => {
    if (!demo.providers.includes(provider)) return t.skip(`this backend build does not offer ${provider}`);
    await withCheckout(t, browser, demo, async ({ page }) => {
      await fillAndPay(page, { provider, mode: "redirect", pan: "4000000000002008", currency: CURRENCY[provider] });
      const frame = await challengeFrame(page, demo.sandboxUrl);
      assert.equal(frame, page.mainFrame(), "redirect mode shows the challenge as the whole page");
      await page.reload();
      await answerChallenge(page, demo.sandboxUrl, "1234");
      const outcome = await result(page);
      assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
      assert.equal(chargesOf(await ledger(demo.sandboxUrl), provider, outcome).length, 1);
    });
  });

  test(`${provider}: a double click on Pay makes one payment and one charge`, { timeout: 60_000 }, async (t) => {
    if (!demo.providers.includes(provider)) return t.skip(`this backend build does not offer ${provider}`);
    await withCheckout(t, browser, demo, async ({ page }) => {
      const posts = [];
      page.on("request", (request) => {
        if (request.method() === "POST") posts.push(new URL(request.url()).pathname);
      });
      await fillAndPay(page, { provider, mode: "iframe", pan: "4000000000001000", currency: CURRENCY[provider], clicks: 2 });
      const outcome = await result(page);
      assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
      const charges = chargesOf(await ledger(demo.sandboxUrl), provider, outcome);
      assert.equal(charges.length, 1, JSON.stringify(charges));
      assert.equal(posts.filter((path) => path === "/shop/checkout").length, 1, "the shop created one payment");
      assert.equal(posts.filter((path) => path.endsWith("/confirm")).length, 1, `the page confirmed once: ${posts}`);
      assert.ok(!posts.includes("/v1/payments"), "the page never creates a payment itself");
    });
  });
}

/**
 * A provider whose frictionless payment finishes inside the confirm (no full-page step),
 * for the tests that talk to the API directly or must stay on the page.
 */
const SERVER_SIDE = "paysafe";

test("the same order created twice at once, and confirmed twice at once, is one payment and one charge (backend idempotency)", async (t) => {
  if (!demo.providers.includes(SERVER_SIDE)) return t.skip(`this backend build does not offer ${SERVER_SIDE}`);
  const provider = SERVER_SIDE;
  const order = {
    provider, orderId: `e2e-double-${Date.now()}`, amount: 1000, currency: CURRENCY[provider],
    payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" },
  };
  const created = await Promise.all([merchantApi(demo, "/v1/payments", order), merchantApi(demo, "/v1/payments", order)]);
  const statuses = created.map((c) => c.status).sort();
  assert.deepEqual(statuses, [200, 201], `one create is new, the other answers it: ${statuses}`);
  assert.equal(created[0].body.id, created[1].body.id, "both answers are the same payment");
  assert.equal(created[0].body.clientSecret, created[1].body.clientSecret);

  const { id, clientSecret } = created[0].body;
  const before = (await ledger(demo.sandboxUrl)).length;
  const confirm = () => confirmAsPage(demo, id, { clientSecret, paymentMethod: FRICTIONLESS_CARD });
  const confirmed = await Promise.all([confirm(), confirm()]);
  for (const answer of confirmed) {
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.id, id);
  }
  const final = await merchantApi(demo, `/v1/payments/${id}`);
  assert.equal(final.body.status, "authorized", JSON.stringify(final.body));
  // Paysafe's ledger names its own reference, not our order id: count what is new.
  const charges = (await ledger(demo.sandboxUrl)).slice(before);
  assert.equal(charges.length, 1, JSON.stringify(charges));
  assert.equal(charges[0].provider_payment_id, final.body.result.providerPaymentId);
});

test("only the merchant's key creates a payment: a page (or anyone) without it gets 401 and nothing is created", async () => {
  const provider = demo.providers[0];
  const order = {
    provider, orderId: `e2e-nokey-${Date.now()}`, amount: 1, currency: CURRENCY[provider],
    payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" },
  };
  for (const authorization of [undefined, "Bearer not-the-demo-key", `Basic ${demo.merchantKey}`]) {
    const response = await fetch(`${demo.pageUrl}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: demo.pageUrl, ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(order),
    });
    assert.equal(response.status, 401, String(authorization));
    assert.match((await response.json()).error.code, /^(missing|invalid)_api_key$/);
  }
  // The order is still free: the merchant's create is the first one.
  assert.equal((await merchantApi(demo, "/v1/payments", order)).status, 201);
});

test("the page cannot change the amount: a confirm carrying one is refused, and the shop's amount is charged", { timeout: 60_000 }, async (t) => {
  if (!demo.providers.includes(SERVER_SIDE)) return t.skip(`this backend build does not offer ${SERVER_SIDE}`);
  const provider = SERVER_SIDE;
  await withCheckout(t, browser, demo, async ({ page, problems }) => {
    // In the demo page, as its own scripts (or an injected one) could: the shop's payment, then tries.
    const tried = await page.evaluate(async ({ provider, currency, card }) => {
      const shop = await fetch("/shop/checkout", {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ provider, amount: 1000, currency, payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" } }),
      });
      const { id, clientSecret } = await shop.json();
      const { ThreeDSecure } = await import("/pkg/threeds_bridge.js");
      const tds = new ThreeDSecure({ backendUrl: location.origin });
      const viaModule = await tds.pay({ clientSecret, paymentMethod: card, amount: 1 }).then(
        (r) => ({ resolved: r.status }), (e) => ({ code: e.code }));
      const raw = await fetch(`/v1/payments/${id}/confirm`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ clientSecret, paymentMethod: card, amount: 1, currency, display: "iframe", checkoutOrigin: location.origin }),
      });
      const paid = await tds.pay({ clientSecret, paymentMethod: card });
      return { id, viaModule, raw: { status: raw.status, body: await raw.json() }, paid };
    }, { provider, currency: CURRENCY[provider], card: FRICTIONLESS_CARD });

    assert.deepEqual(tried.viaModule, { code: "field_not_allowed" }, "pay() with an amount rejects");
    assert.equal(tried.raw.status, 400);
    assert.equal(tried.raw.body.error.code, "field_not_allowed");
    assert.match(tried.raw.body.error.message, /amount/);
    assert.equal(tried.paid.status, "authorized", JSON.stringify(tried.paid));
    assert.equal(tried.paid.amount, 1000, "the result shows the shop's amount");
    assert.equal(tried.paid.currency, CURRENCY[provider]);

    const payment = await merchantApi(demo, `/v1/payments/${tried.id}`);
    assert.equal(payment.body.amount, 1000);
    assert.equal(payment.body.orderId, tried.paid.orderId);
    const charges = chargesOf(await ledger(demo.sandboxUrl), provider, {
      orderId: tried.paid.orderId, paymentId: tried.paid.providerPaymentId,
    });
    assert.equal(charges.length, 1, JSON.stringify(charges));
    assert.equal(charges[0].amount, 1000, "the sandbox charged what the shop set");

    // Chromium logs each refused confirm as a console error: these two are the test's own.
    const refused = /status of 400 \(Bad Request\) \(.*\/confirm\)$/;
    assert.equal(problems.filter((problem) => refused.test(problem)).length, 2, problems.join("\n"));
    problems.splice(0, problems.length, ...problems.filter((problem) => !refused.test(problem)));
  });
});

test("every demo page and file carries the strict CSP; the page has no inline script or style", async () => {
  for (const path of ["/", "/app.js", "/style.css", "/cards.js", "/demo/config", "/no-such-file"]) {
    const response = await fetch(`${demo.pageUrl}${path}`);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/, path);
    assert.match(csp, new RegExp(`frame-src 'self' ${demo.sandboxUrl}(;|$)`), path);
    assert.doesNotMatch(csp, /unsafe-inline|\*/, path);
  }
  const html = await (await fetch(`${demo.pageUrl}/`)).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "no inline <script>");
  assert.doesNotMatch(html, /<style|\sstyle=/i, "no inline style");
  for (const bad of ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/.gitignore"]) {
    assert.equal((await fetch(`${demo.pageUrl}${bad}`)).status, 404, bad);
  }
});

test("every field has a label, and a payment can be made with the keyboard alone", { timeout: 60_000 }, async (t) => {
  await withCheckout(t, browser, demo, async ({ page }) => {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select")]
        .filter((field) => field.labels.length === 0 && !field.getAttribute("aria-label"))
        .map((field) => field.id));
    assert.deepEqual(unlabelled, []);
    for (const id of ["provider", "card-number", "amount", "currency", "mode", "pay"]) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `#${id}`);
    }
    await page.focus("#card-number");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("4000000000002008");
    await page.focus("#pay");
    await page.keyboard.press("Enter");
    const frame = await challengeFrame(page, demo.sandboxUrl);
    await frame.focus("#otp");
    await page.keyboard.type("1234");
    await page.keyboard.press("Enter");
    assert.equal((await result(page)).status, "authorized");
  });
});

test("the 'what happened' panel lists the backend's calls to the sandbox, with card numbers masked; the merchant key never reaches the page", { timeout: 60_000 }, async (t) => {
  await withCheckout(t, browser, demo, async ({ page }) => {
    const provider = demo.providers[0];
    const seen = [];
    page.on("request", (request) => seen.push(JSON.stringify([request.url(), request.headers(), request.postData()])));
    page.on("response", async (response) => seen.push(await response.text().catch(() => "")));
    await fillAndPay(page, { provider, mode: "iframe", pan: "4000000000001000", currency: CURRENCY[provider] });
    await result(page);
    await page.waitForSelector("#exchanges tbody tr");
    const rows = await page.$$eval("#exchanges tbody tr", (trs) => trs.map((tr) => tr.innerText));
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((row) => /\b(GET|POST)\b/.test(row) && /\b\d{3}\b/.test(row)), rows.join("\n"));
    const panel = await page.locator("#exchanges").innerHTML();
    assert.doesNotMatch(panel, /4000000000001000/, "no full card number in the panel");
    assert.doesNotMatch(panel, /sandbox-payroc-api-key|fm12O7G9|sandbox-paysafe-password|4BaD82D9197b4cc4b70a221911eE9f70/, "no credential");
    // Without the payment's client secret the panel's source shows nothing.
    const anonymous = await fetch(`${demo.pageUrl}/demo/exchanges`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).exchanges, undefined);
    assert.ok(seen.length > 5, "the page's traffic was recorded");
    assert.ok(!seen.some((text) => text.includes(demo.merchantKey)), "no request or response of the page carries the merchant key");
  });
});
