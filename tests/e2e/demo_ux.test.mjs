// The demo page as a shopper on a phone sees it, in headless Chromium: usable at 390 and
// 320 px (nothing cut off, no sideways scrolling, the exchanges table scrolls in its own
// box), dark mode, the "Sandbox card" select and the typed number agreeing, and a reload
// in the middle of a payment showing that payment's card (masked) and order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { answerChallenge, challengeFrame, launchBrowser, result, startDemo } from "./support.mjs";

let demo;
let browser;

before(async () => {
  demo = await startDemo("demo-ux");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The demo page in a fresh context; `problems` collects page errors. */
async function openDemo({ width = 1280, height = 1000, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${demo.pageUrl}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return { context, page, problems };
}

/** Everything on the page that sticks out of the viewport on the right. */
function overflow(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    outside: [...document.querySelectorAll("input, select, button, legend, #exchanges, #result, h1")]
      .filter((element) => element.getBoundingClientRect().right > innerWidth + 0.5)
      .map((element) => element.id || element.tagName),
  }));
}

for (const width of [390, 320]) {
  test(`at ${width} px the form fits and only the exchanges table scrolls sideways`, { timeout: 90_000 }, async () => {
    const { context, page, problems } = await openDemo({ width, height: 844 });
    try {
      let seen = await overflow(page);
      assert.deepEqual(seen.outside, [], `nothing cut off: ${JSON.stringify(seen)}`);
      assert.ok(seen.scrollWidth <= seen.innerWidth, `no sideways scrolling: ${JSON.stringify(seen)}`);

      await page.selectOption("#provider", "paysafe");
      await page.fill("#card-number", "4000000000001000");
      await page.click("#pay");
      assert.equal((await result(page)).status, "authorized");
      await page.waitForSelector("#exchanges tbody tr");
      seen = await overflow(page);
      assert.deepEqual(seen.outside, [], `nothing cut off with a result: ${JSON.stringify(seen)}`);
      assert.ok(seen.scrollWidth <= seen.innerWidth, `no sideways scrolling with the table: ${JSON.stringify(seen)}`);
      const table = await page.evaluate(() => {
        const box = document.getElementById("exchanges");
        return { scrollWidth: box.scrollWidth, clientWidth: box.clientWidth, overflowX: getComputedStyle(box).overflowX };
      });
      assert.equal(table.overflowX, "auto", "the table scrolls in its own box");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
}

test("the demo follows prefers-color-scheme: dark", async () => {
  const luminance = (page, selector) => page.evaluate((selector) => {
    const [r, g, b] = getComputedStyle(document.querySelector(selector)).backgroundColor.match(/\d+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  }, selector);
  for (const [colorScheme, dark] of [["dark", true], ["light", false]]) {
    const { context, page } = await openDemo({ colorScheme });
    try {
      for (const selector of ["html", "fieldset", "#result", "#card-number"]) {
        const value = await luminance(page, selector);
        assert.equal(value < 0.3, dark, `${selector} in ${colorScheme}: luminance ${value}`);
      }
    } finally {
      await context.close();
    }
  }
});

test("the Sandbox card select and the typed number agree", async () => {
  const { context, page, problems } = await openDemo();
  try {
    await page.selectOption("#card-preset", "4000000000002107");
    assert.equal(await page.inputValue("#card-number"), "4000000000002107", "choosing a card types its number");
    await page.fill("#card-number", "5200000000002003");
    assert.equal(await page.inputValue("#card-preset"), "5200000000002003", "typing a sandbox card's number selects it");
    assert.match(await page.textContent("#card-scenario"), /challenge, ECI 02/);
    await page.fill("#card-number", "4111111111111111");
    assert.equal(await page.inputValue("#card-preset"), "custom", "any other number selects custom");
    await page.selectOption("#card-preset", "custom");
    assert.equal(await page.inputValue("#card-number"), "4111111111111111", "custom keeps the typed number");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

/**
 * Enter pressed before the module has loaded (here it never does): the form's own submit
 * is not stopped by the page's script, and the browser sends its named controls in the
 * URL. The card and payer inputs have no names, so the card number and CVV never reach
 * the URL, the history or, through the page's returnUrl, the backend.
 */
test("a submit before the module loads puts no card data in the URL", { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.route("**/pkg/**", (route) => route.abort());
    await page.goto(`${demo.pageUrl}/`);
    await page.fill("#card-number", "4000000000001000");
    await page.fill("#cvv", "737");
    await Promise.all([page.waitForEvent("framenavigated"), page.press("#cvv", "Enter")]);
    const url = page.url();
    assert.ok(url.startsWith(`${demo.pageUrl}/`), `the form submitted: ${url}`);
    for (const secret of ["4000000000001000", "737", "number=", "cvv=", "document=", "email="]) {
      assert.ok(!url.includes(secret), `${secret} in ${url}`);
    }
  } finally {
    await context.close();
  }
});

test("after a reload mid-payment the form shows the resumed payment's card (masked) and order", { timeout: 90_000 }, async () => {
  const { context, page, problems } = await openDemo();
  try {
    await page.selectOption("#provider", "paysafe");
    await page.selectOption("#mode", "iframe");
    await page.fill("#card-number", "4000000000002008");
    await page.fill("#amount", "4321");
    await page.selectOption("#currency", "EUR");
    await page.click("#pay");
    await challengeFrame(page, demo.sandboxUrl);
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes("4000000000002008"), "the tab never stores the card number");

    await page.reload();
    await page.waitForSelector("#result[data-status], iframe[name^='threeds-bridge-challenge-']", { timeout: 15_000 });
    assert.equal(await page.inputValue("#card-number"), "400000••••••2008", "the resumed card, masked");
    assert.equal(await page.inputValue("#card-preset"), "custom");
    assert.equal(await page.inputValue("#amount"), "4321");
    assert.equal(await page.inputValue("#currency"), "EUR");
    assert.equal(await page.inputValue("#provider"), "paysafe");
    assert.match(await page.textContent("#card-scenario"), /400000••••••2008: 4321 EUR with paysafe/);

    await answerChallenge(page, demo.sandboxUrl, "1234");
    const outcome = await result(page);
    assert.equal(outcome.status, "authorized");
    const shown = await page.textContent("#result");
    assert.ok(shown.includes("4321") && shown.includes("EUR") && shown.includes(outcome.orderId), shown);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
