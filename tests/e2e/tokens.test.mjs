// Card entry `provider`: the card goes into the sandbox's stand-in for each provider's
// hosted fields (an iframe on the sandbox's origin), the page pays with the token only.
// Frictionless and challenge for every provider, then an expired and a reused token,
// each ending with its own stable code.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  answerChallenge, chargesOf, launchBrowser, ledger, merchantApi, openCheckout, result, startDemo,
  withCheckout,
} from "./support.mjs";
import { CURRENCY, PROVIDERS } from "./scenarios.mjs";

const FRICTIONLESS = "4000000000001000";
const CHALLENGE = "4000000000002008";


/**
 * Payroc's hosted MPI page (loaded by the browser, not the backend) is the first to see a
 * Payroc token; it refuses an expired or spent one on its own page. Payroc documents a
 * return to the merchant's MPI receipt URL only "if your request is successful" (the
 * seed's MPI step 3: `result, status, eci, mpiReference, orderId`, no error fields), so no
 * return can carry token_expired / token_used and the backend never learns of it: those
 * two tests are skipped for Payroc. What ends such a payment is a cancel (the test after
 * them) or its expiry; the sale's own refusal of a bad token is covered by the native test.
 */
const REFUSAL_REACHES_BACKEND = new Set(["dlocal", "paysafe", "bambora"]);

let demo;
let browser;

before(async () => {
  demo = await startDemo("tokens");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The provider's fields in the page, once they are ready for a card. */
async function cardFields(page) {
  await page.waitForSelector("#card-fields");
  const frame = await (await page.$("#card-fields")).contentFrame();
  await frame.waitForSelector("#card-number");
  return frame;
}

/** Chooses the provider's fields, types the card into them, and presses Pay. */
async function payWithToken(page, { provider, pan, mode = "iframe" }) {
  await page.selectOption("#provider", provider);
  await page.selectOption("#mode", mode);
  await page.selectOption("#card-entry", "provider");
  await page.fill("#amount", "1000");
  await page.selectOption("#currency", CURRENCY[provider]);
  const fields = await cardFields(page);
  await fields.fill("#card-number", pan);
  await page.click("#pay");
}

const TOKENIZE = /(singleusetokens|single-use-tokens|tokenization\/tokens|smart-fields\/tokens)$/;

/** The next token the fields get from the sandbox's tokenization endpoint (test's view). */
async function nextToken(page) {
  const response = await page.waitForResponse((r) => TOKENIZE.test(r.url()), { timeout: 30_000 });
  const body = await response.json();
  return body.paymentToken ?? body.token;
}

for (const provider of PROVIDERS) {
  describe(`${provider} · provider fields`, () => {
    test(`${provider}: a token pays frictionless, and the confirm carries the token, not the card`, { timeout: 90_000 }, async (t) => {
      if (!demo.providers.includes(provider)) return t.skip(`no ${provider} in this build`);
      await withCheckout(t, browser, demo, async ({ page }) => {
        const confirms = [];
        page.on("request", (request) => {
          if (request.url().endsWith("/confirm")) confirms.push(request.postData() ?? "");
        });
        const token = nextToken(page);
        await payWithToken(page, { provider, pan: FRICTIONLESS });
        const outcome = await result(page);
        assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
        assert.equal(outcome.transStatus, "Y");
        assert.equal(confirms.length, 1);
        assert.ok(confirms[0].includes(await token), "the confirm carries the token");
        assert.ok(!confirms[0].includes(FRICTIONLESS), "the confirm carries no card number");
        const charges = chargesOf(await ledger(demo.sandboxUrl), provider, outcome);
        assert.equal(charges.length, 1, JSON.stringify(charges));
      });
    });

    for (const mode of ["iframe", "redirect"]) {
      test(`${provider}: a token pays through the issuer's challenge (${mode})`, { timeout: 90_000 }, async (t) => {
        if (!demo.providers.includes(provider)) return t.skip(`no ${provider} in this build`);
        await withCheckout(t, browser, demo, async ({ page }) => {
          await payWithToken(page, { provider, pan: CHALLENGE, mode });
          await answerChallenge(page, demo.sandboxUrl, "1234");
          const outcome = await result(page);
          assert.equal(outcome.status, "authorized", JSON.stringify(outcome));
          assert.equal(outcome.transStatus, "Y");
          assert.ok(page.url().startsWith(demo.pageUrl), `back on the checkout page: ${page.url()}`);
        });
      });
    }

    test(`${provider}: an expired token ends token_expired`, { timeout: 90_000 }, async (t) => {
      if (!demo.providers.includes(provider)) return t.skip(`no ${provider} in this build`);
      if (!REFUSAL_REACHES_BACKEND.has(provider)) return t.skip("the provider's MPI page refuses it, not the backend");
      await withCheckout(t, browser, demo, async ({ page }) => {
        // The token ages between the fields and the payment, by the sandbox's clock.
        await page.route(TOKENIZE, async (route) => {
          const response = await route.fetch();
          const body = await response.json();
          const token = body.paymentToken ?? body.token;
          const aged = await fetch(`${demo.sandboxUrl}/_sandbox/tokens/expire`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }),
          });
          assert.equal(aged.status, 200);
          await route.fulfill({ response, json: body });
        });
        await payWithToken(page, { provider, pan: FRICTIONLESS });
        const outcome = await result(page);
        assert.equal(outcome.status, "failed", JSON.stringify(outcome));
        assert.equal(outcome.errorCode, "token_expired", JSON.stringify(outcome));
      });
    });

    test(`${provider}: a token that already paid ends token_used`, { timeout: 90_000 }, async (t) => {
      if (!demo.providers.includes(provider)) return t.skip(`no ${provider} in this build`);
      if (!REFUSAL_REACHES_BACKEND.has(provider)) return t.skip("the provider's MPI page refuses it, not the backend");
      await withCheckout(t, browser, demo, async ({ page }) => {
        const token = nextToken(page);
        await payWithToken(page, { provider, pan: FRICTIONLESS });
        assert.equal((await result(page)).status, "authorized");
        const spent = await token;
        // The fields hand the page the spent token again (a replayed or copied token).
        await page.route(TOKENIZE, async (route) => {
          const response = await route.fetch();
          const body = await response.json();
          if ("paymentToken" in body) body.paymentToken = spent;
          else body.token = spent;
          await route.fulfill({ response, json: body });
        });
        // Every entry the sandbox books from here on: a provider files a charge under its
        // own reference (Paysafe's merchantRefNum is not the order id), so a filter by
        // order id could never see one.
        const before = (await ledger(demo.sandboxUrl)).length;
        await page.click("#pay");
        await page.waitForSelector("#result[data-status]:not([data-status='authorized'])", { timeout: 45_000 });
        const outcome = await result(page);
        assert.equal(outcome.status, "failed", JSON.stringify(outcome));
        assert.equal(outcome.errorCode, "token_used", JSON.stringify(outcome));
        const charges = (await ledger(demo.sandboxUrl)).slice(before);
        assert.equal(charges.length, 0, `the reused token charged nothing: ${JSON.stringify(charges)}`);
      });
    });
  });
}

test("payroc: a token its MPI page refuses leaves the payment waiting; a cancel ends it at once", { timeout: 90_000 }, async (t) => {
  if (!demo.providers.includes("payroc")) return t.skip("no payroc in this build");
  const { page, context } = await openCheckout(browser, demo);
  try {
    await page.route(TOKENIZE, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const token = body.paymentToken ?? body.token;
      await fetch(`${demo.sandboxUrl}/_sandbox/tokens/expire`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }),
      });
      await route.fulfill({ response, json: body });
    });
    const confirm = page.waitForRequest((request) => request.url().endsWith("/confirm"));
    await payWithToken(page, { provider: "payroc", pan: FRICTIONLESS });
    const id = (await confirm).url().match(/\/v1\/payments\/([0-9a-f]{32})\/confirm$/)[1];
    // The browser is on Payroc's MPI page, which refuses the token there.
    await page.waitForURL((url) => url.href.startsWith(demo.sandboxUrl), { timeout: 30_000 });
    await page.waitForSelector("#errors", { timeout: 15_000 });
    assert.match(await page.textContent("#errors"), /expired/);
    // The backend heard nothing: the payment waits on the browser step.
    const waiting = await merchantApi(demo, `/v1/payments/${id}`);
    assert.equal(waiting.body.status, "requires_action", JSON.stringify(waiting.body));
    // The cancel ends it now, not at the session's expiry; nothing was or can be charged.
    const cancelled = await merchantApi(demo, `/v1/payments/${id}/cancel`, {});
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.result.error.code, "cancelled_by_merchant");
    const charges = (await ledger(demo.sandboxUrl)).filter((e) => e.order_id === cancelled.body.orderId);
    assert.equal(charges.length, 0, "nothing charged");
  } finally {
    await context.close();
  }
});
