// Every provider × display mode × contract scenario, paid from the demo page in headless
// Chromium: the `#result` attributes, and the sandbox ledger holding exactly the charges
// the results claim.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  answerChallenge, fillAndPay, launchBrowser, ledger, result, startDemo, withCheckout,
} from "./support.mjs";
import { CURRENCY, MODES, PROVIDERS, SCENARIOS, expectationFor } from "./scenarios.mjs";

let demo;
let browser;
const authorizedOrders = [];

before(async () => {
  demo = await startDemo("checkout");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

for (const provider of PROVIDERS) {
  for (const mode of MODES) {
    describe(`${provider} · ${mode}`, () => {
      for (const scenario of SCENARIOS) {
        test(`${provider} ${mode} ${scenario.name}`, { timeout: 90_000 }, async (t) => {
          if (!demo.providers.includes(provider)) {
            t.skip(`this backend build does not offer ${provider}`);
            return;
          }
          await withCheckout(t, browser, demo, async ({ page }) => {
            // The tests of this file run one at a time: what the ledger books from here on
            // is this payment's (a filter by order id would miss a provider's own reference).
            const before = (await ledger(demo.sandboxUrl)).length;
            await fillAndPay(page, { provider, mode, pan: scenario.pan, currency: CURRENCY[provider] });
            if (scenario.cardholder) await answerChallenge(page, demo.sandboxUrl, scenario.cardholder);
            const outcome = await result(page);
            const expected = expectationFor(provider, scenario);
            for (const [name, value] of Object.entries(expected)) {
              assert.equal(outcome[name], value, `#result data-${name} (${JSON.stringify(outcome)})`);
            }
            if (outcome.status === "authorized") assert.notEqual(outcome.paymentId, "", "an authorized payment has an id");

            const charges = (await ledger(demo.sandboxUrl)).slice(before);
            const claimed = outcome.status === "authorized" ? 1 : 0;
            assert.equal(charges.length, claimed, `ledger charges for ${outcome.orderId}: ${JSON.stringify(charges)}`);
            if (claimed) {
              assert.equal(charges[0].provider, provider);
              assert.equal(charges[0].amount, 1000);
              assert.equal(charges[0].currency, CURRENCY[provider]);
              authorizedOrders.push(outcome.orderId);
            }
            // The page came back to the checkout (redirect mode) and shows what happened.
            assert.ok(page.url().startsWith(demo.pageUrl), `back on the checkout page: ${page.url()}`);
            await page.waitForSelector("#exchanges tbody tr");
          });
        });
      }
    });
  }
}

test("the ledger holds exactly the charges the results claimed, and no card number", async () => {
  const entries = await ledger(demo.sandboxUrl);
  assert.equal(entries.length, authorizedOrders.length, JSON.stringify(entries, null, 1));
  for (const entry of entries) assert.match(entry.card, /^\d{6}\*+\d{4}$/);
});
