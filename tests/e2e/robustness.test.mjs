// The demo under the things real cardholders do: reload in the middle of a redirect
// challenge, double-click Pay; and the page's own promises: a strict CSP on every page,
// labels on every field, keyboard use, a "what happened" panel without card numbers.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  answerChallenge, challengeFrame, chargesOf, fillAndPay, launchBrowser, ledger, result, startDemo,
  withCheckout,
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
      let starts = 0;
      page.on("request", (request) => {
        if (request.method() === "POST" && request.url() === `${demo.pageUrl}/v1/payments`) starts += 1;
      });
      await fillAndPay(page, { provider, mode: "iframe", pan: "4000000000001000", currency: CURRENCY[provider], clicks: 2 });
      const outcome = await result(page);
      assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
      const charges = chargesOf(await ledger(demo.sandboxUrl), provider, outcome);
      assert.equal(charges.length, 1, JSON.stringify(charges));
      assert.equal(starts, 1, "the page started the payment once");
    });
  });
}

test("a second Pay on the same order while the first runs answers the same payment (backend idempotency)", async () => {
  const provider = demo.providers[0];
  const body = {
    provider, orderId: `e2e-double-${Date.now()}`, amount: 1000, currency: CURRENCY[provider],
    paymentMethod: { type: "card", number: "4000000000001000", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Jo Doe" },
    payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" },
    browser: { acceptHeader: "text/html", javaEnabled: false, javascriptEnabled: true, language: "en-US", colorDepth: 24, screenHeight: 900, screenWidth: 1400, timeZone: 0, userAgent: "e2e" },
    display: "iframe", checkoutOrigin: demo.pageUrl,
  };
  const post = () => fetch(`${demo.pageUrl}/v1/payments`, {
    method: "POST", headers: { "content-type": "application/json", origin: demo.pageUrl }, body: JSON.stringify(body),
  });
  const [first, second] = await Promise.all([post(), post()]);
  const statuses = [first.status, second.status].sort();
  const views = [await first.json(), await second.json()];
  assert.ok(statuses.includes(201), `one start is new: ${statuses}`);
  assert.equal(views[0].id, views[1].id, "both answers are the same payment");
  const charges = (await ledger(demo.sandboxUrl)).filter((e) => e.order_id === body.orderId);
  assert.ok(charges.length <= 1, JSON.stringify(charges));
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

test("the 'what happened' panel lists the backend's calls to the sandbox, with card numbers masked", { timeout: 60_000 }, async (t) => {
  await withCheckout(t, browser, demo, async ({ page }) => {
    const provider = demo.providers[0];
    await fillAndPay(page, { provider, mode: "iframe", pan: "4000000000001000", currency: CURRENCY[provider] });
    await result(page);
    await page.waitForSelector("#exchanges tbody tr");
    const rows = await page.$$eval("#exchanges tbody tr", (trs) => trs.map((tr) => tr.innerText));
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((row) => /\b(GET|POST)\b/.test(row) && /\b\d{3}\b/.test(row)), rows.join("\n"));
    const panel = await page.locator("#exchanges").innerHTML();
    assert.doesNotMatch(panel, /4000000000001000/, "no full card number in the panel");
    assert.doesNotMatch(panel, /sandbox-payroc-api-key|fm12O7G9|sandbox-paysafe-password|4BaD82D9197b4cc4b70a221911eE9f70/, "no credential");
  });
});
