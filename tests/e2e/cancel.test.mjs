// Cancel in headless Chromium against the demo: the module's cancel (the challenge's close
// button) asks the backend (`POST /v1/payments/{id}/cancel` with the client secret), which
// ends the payment `cancelled` there at once, so the merchant's server reads `cancelled`
// (not a payment pending until it expires), and nothing is charged. And the merchant's
// own cancel of a payment the page has not confirmed yet: the page's confirm then ends
// cancelled, with nothing sent to the provider.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  answerChallenge, challengeFrame, confirmAsPage, fillAndPay, FRICTIONLESS_CARD, launchBrowser, ledger, merchantApi,
  result, startDemo, withCheckout,
} from "./support.mjs";

let demo;
let browser;

before(async () => {
  demo = await startDemo("cancel");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** How many charges the sandbox approved for `provider` so far (the tests run one by one). */
async function chargeCount(provider) {
  return (await ledger(demo.sandboxUrl)).filter((entry) => entry.provider === provider).length;
}

test("the page's cancel is the backend's: cancelled there at once, nothing charged", { timeout: 60_000 }, async (t) => {
  await withCheckout(t, browser, demo, async ({ page }) => {
    const cancels = [];
    page.on("response", async (response) => {
      if (response.request().method() === "POST" && response.url().endsWith("/cancel")) {
        cancels.push({ url: response.url(), status: response.status(), body: await response.json() });
      }
    });
    const before = await chargeCount("paysafe");
    await fillAndPay(page, { provider: "paysafe", mode: "iframe", pan: "4000000000002008" });
    await challengeFrame(page, demo.sandboxUrl);
    await page.click(".threeds-bridge-close");
    const outcome = await result(page);
    assert.equal(outcome.status, "cancelled", JSON.stringify(outcome));
    assert.equal(outcome.errorCode, "cancelled_by_shopper", "the backend's result, not a local one");

    assert.equal(cancels.length, 1, JSON.stringify(cancels));
    const [cancel] = cancels;
    assert.equal(cancel.status, 200, JSON.stringify(cancel));
    assert.equal(cancel.body.status, "cancelled");
    const id = cancel.url.match(/\/v1\/payments\/([0-9a-f]{32})\/cancel$/)[1];
    const read = await merchantApi(demo, `/v1/payments/${id}`);
    assert.equal(read.body.status, "cancelled", JSON.stringify(read.body));
    assert.equal(read.body.result.error.code, "cancelled_by_shopper");
    // The merchant's cancel afterwards: the same cancelled payment again.
    const again = await merchantApi(demo, `/v1/payments/${id}/cancel`, {});
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.result.error.code, "cancelled_by_shopper");
    assert.equal(await chargeCount("paysafe"), before, "nothing charged");
  });
});

test("a payment the merchant cancelled is never confirmed", { timeout: 30_000 }, async () => {
  const orderId = `cancel-${Date.now()}`;
  const before = await chargeCount("paysafe");
  const created = await merchantApi(demo, "/v1/payments", { provider: "paysafe", orderId, amount: 1000, currency: "USD" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, clientSecret } = created.body;
  const cancelled = await merchantApi(demo, `/v1/payments/${id}/cancel`, {});
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  assert.equal(cancelled.body.result.error.code, "cancelled_by_merchant");
  const confirmed = await confirmAsPage(demo, id, { clientSecret, paymentMethod: FRICTIONLESS_CARD });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  assert.equal(confirmed.body.status, "cancelled", "the page is told, nothing is sent");
  assert.equal(await chargeCount("paysafe"), before, "nothing charged");
});

// Back from the issuer's page (redirect mode): the shopper left the challenge. Whether
// Chromium reloads the checkout (`resume()` then finds the payment still waiting for that
// page) or restores it from its back/forward cache (where `pay()` was waiting for the
// page to unload), the payment ends cancelled at the backend and the page shows it: no
// promise left pending, and no trip forward to the issuer again.
for (const backForwardCache of [false, true]) {
  const how = backForwardCache ? "restored from the back/forward cache" : "reloaded";
  test(`Back from the issuer's page (checkout ${how}) cancels the payment at the backend`, { timeout: 60_000 }, async (t) => {
    const browser = await launchBrowser({ backForwardCache });
    t.after(() => browser.close());
    await withCheckout(t, browser, demo, async ({ page, context }) => {
      await context.addInitScript(() => {
        addEventListener("pageshow", (event) => {
          if (event.persisted) document.documentElement.dataset.restored = "true";
        });
      });
      const cancels = [];
      page.on("request", (request) => {
        if (request.method() === "POST" && request.url().endsWith("/cancel")) cancels.push(request.url());
      });
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      const before = await chargeCount("paysafe");
      await fillAndPay(page, { provider: "paysafe", mode: "redirect", pan: "4000000000002008" });
      const frame = await challengeFrame(page, demo.sandboxUrl);
      assert.equal(frame, page.mainFrame(), "the challenge is the whole page");
      await page.goBack({ waitUntil: "commit" });
      const outcome = await result(page);
      assert.equal(outcome.status, "cancelled", JSON.stringify(outcome));
      assert.equal(outcome.errorCode, "cancelled_by_shopper", "the backend's result, not a local one");
      const restored = await page.evaluate(() => document.documentElement.dataset.restored === "true");
      assert.equal(restored, backForwardCache, "the checkout came back the way this test is about");

      assert.equal(cancels.length, 1, JSON.stringify(cancels));
      const id = cancels[0].match(/\/v1\/payments\/([0-9a-f]{32})\/cancel$/)[1];
      const read = await merchantApi(demo, `/v1/payments/${id}`);
      assert.equal(read.body.status, "cancelled", JSON.stringify(read.body));
      // The page stays on the checkout: nothing sends the shopper to the issuer again.
      await page.waitForTimeout(500);
      assert.ok(page.url().startsWith(demo.pageUrl), page.url());
      assert.equal(await chargeCount("paysafe"), before, "nothing charged");
    });
  });
}

// The `pageshow` that settles a payment left for the issuer's page is the one of a return
// from the back/forward cache (`persisted`). Browsers also fire one, not persisted, after a
// page's load: a checkout that leaves before it has loaded (a `resume()` at the top of the
// module, a quick Pay, a slow image) can get it while the issuer's page is on its way. Fired
// here at that moment: the payment goes on, and no cancel reaches the backend.
test("a pageshow that is no return from the cache does not cancel a payment on its way to the issuer", { timeout: 60_000 }, async (t) => {
  await withCheckout(t, browser, demo, async ({ page, context }) => {
    let fired = false;
    page.on("console", (message) => { fired ||= message.text() === "pageshow fired while leaving"; });
    await context.addInitScript((checkout) => {
      if (location.origin !== checkout) return;
      addEventListener("beforeunload", () => setTimeout(() => {
        dispatchEvent(new PageTransitionEvent("pageshow", { persisted: false }));
        console.log("pageshow fired while leaving");
      }, 0));
    }, new URL(demo.pageUrl).origin);
    // The issuer's page comes a second after it was asked for: the checkout is still there.
    let delayed = false;
    await page.route(`${demo.sandboxUrl}/**`, async (route) => {
      const request = route.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && !delayed) {
        delayed = true;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await route.continue();
    });
    const cancels = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/cancel")) cancels.push(request.url());
    });
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await fillAndPay(page, { provider: "paysafe", mode: "redirect", pan: "4000000000002008" });
    await answerChallenge(page, demo.sandboxUrl, "1234");
    assert.ok(fired, "the pageshow was fired while the checkout was leaving");
    const outcome = await result(page);
    assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
    assert.deepEqual(cancels, [], "nothing asked the backend to cancel");
  });
});
