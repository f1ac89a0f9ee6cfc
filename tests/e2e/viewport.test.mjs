// The challenge on every screen, in headless Chromium: at 320, 390 and 768 px wide, in a
// merchant's container (iframe mode) and in the module's own <dialog>, the "auto" size
// picks from the real width, nothing scrolls sideways, the iframe stays inside the
// viewport, the close control sits in a bar above the issuer's page, focus moves into the
// challenge and back, and Escape cancels. Then the module's labels and its waiting status
// (locale option, the page's <html lang>, waitingStatus: false).
//
// The page is a bare merchant page on the demo's origin (the demo's backend lists that
// origin), so only the module's own layout is measured; the demo's is demo_ux.test.mjs's.
// Bambora, whose challenge shows in the page. The size the page declares is the confirm's
// `windowSize`; the issuer's CReq may still ask for another (the sandboxes' ACS ask 02 or
// 03 whatever was declared), and the iframe must fit the screen all the same.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { challengeFrame, launchBrowser, startDemo } from "./support.mjs";

const CHALLENGE_CARD = "4000000000002008";
const METHOD_CARD = "4000000000002107";
const BAMBORA = { provider: "bambora", amount: 1000, currency: "CAD", payer: { email: "jo.doe@example.com" } };
/** Paysafe runs the sandbox's 3DS Method (Bambora's flow has none). */
const PAYSAFE = { provider: "paysafe", amount: 1000, currency: "USD" };

let demo;
let browser;

before(async () => {
  demo = await startDemo("viewport");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/**
 * The demo's page at `width × height`, stripped to a bare merchant page: no stylesheet,
 * a Pay button that holds focus, and the challenge's container. (A page of its own from
 * playwright's router would count as a public address, and Chromium's local network
 * access checks would then block the sandbox's ACS on 127.0.0.1.)
 */
async function open(width, height, lang = "en") {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.declared = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/confirm")) page.declared.push(JSON.parse(request.postData()).windowSize);
  });
  await page.goto(`${demo.pageUrl}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  await page.evaluate((lang) => {
    for (const sheet of document.querySelectorAll("link[rel=stylesheet]")) sheet.remove();
    document.documentElement.lang = lang;
    document.body.innerHTML = '<button id="before">Pay</button><div id="box"></div>';
  }, lang);
  return { context, page };
}

/**
 * In the page: the shop creates a payment, the module pays it with `options` (plus the
 * backend, and `#box` as the container when `inContainer`); events go to window.events,
 * the settled result to window.outcome.
 */
async function startPayment(page, { inContainer, pan = CHALLENGE_CARD, options = {}, cart = BAMBORA }) {
  await page.evaluate(async ({ inContainer, pan, options, cart }) => {
    const { default: init, ThreeDSecure } = await import("/pkg/threeds_bridge.js");
    await init();
    const response = await fetch("/shop/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(cart),
    });
    const { clientSecret } = await response.json();
    window.events = [];
    const tds = new ThreeDSecure({
      backendUrl: location.origin,
      ...(inContainer ? { container: document.getElementById("box") } : {}),
      onEvent: (event) => window.events.push(event),
      ...options,
    });
    document.getElementById("before").focus();
    const paid = tds.pay({
      clientSecret,
      paymentMethod: { type: "card", number: pan, expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Jo Doe" },
    });
    paid.then((result) => { window.outcome = result; }, (error) => { window.outcome = { status: "error", code: error.code }; });
  }, { inContainer, pan, options, cart });
}

/** What the test measures while the challenge is on screen. */
function measure(page) {
  return page.evaluate(() => {
    const frame = document.querySelector("iframe[name^='threeds-bridge-challenge-']").getBoundingClientRect();
    const close = document.querySelector(".threeds-bridge-close").getBoundingClientRect();
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth,
      innerHeight,
      frame: { left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom, width: frame.width },
      close: { top: close.top, bottom: close.bottom, right: close.right },
      focused: document.activeElement?.className,
      label: document.querySelector(".threeds-bridge-close").textContent,
    };
  });
}

const SCREENS = [
  { width: 320, height: 640, container: "01", dialog: "05" },
  { width: 390, height: 844, container: "01", dialog: "05" },
  { width: 768, height: 1024, container: "03", dialog: "03" },
];

for (const screen of SCREENS) {
  for (const inContainer of [true, false]) {
    const mode = inContainer ? "container" : "dialog";
    test(`${screen.width} px, ${mode}: fits, the close bar is above, focus in and back, Escape cancels`, { timeout: 60_000 }, async () => {
      const { context, page } = await open(screen.width, screen.height);
      try {
        await startPayment(page, { inContainer });
        await challengeFrame(page, demo.sandboxUrl);
        const seen = await measure(page);
        const where = JSON.stringify(seen);
        assert.deepEqual(page.declared, [inContainer ? screen.container : screen.dialog], "the declared size");
        assert.ok(seen.scrollWidth <= seen.innerWidth, `no sideways scrolling: ${where}`);
        assert.ok(seen.frame.left >= 0 && seen.frame.right <= seen.innerWidth, `iframe inside the viewport: ${where}`);
        assert.ok(seen.frame.width >= 250, `the issuer gets at least 250 px: ${where}`);
        assert.ok(seen.close.bottom <= seen.frame.top, `the close control is above the issuer's page: ${where}`);
        assert.ok(seen.close.right <= seen.innerWidth, where);
        assert.equal(seen.focused, "threeds-bridge-close", "focus moved into the challenge");
        assert.equal(seen.label, "Cancel \u00d7");

        await page.keyboard.press("Escape");
        await page.waitForFunction(() => window.outcome);
        const after = await page.evaluate(() => ({
          outcome: window.outcome,
          focused: document.activeElement?.id,
          left: document.querySelectorAll("iframe, dialog, .threeds-bridge-challenge").length,
        }));
        assert.equal(after.outcome.status, "cancelled", JSON.stringify(after));
        // The backend's cancel (POST …/cancel), not a local result.
        assert.equal(after.outcome.error?.code, "cancelled_by_shopper");
        assert.equal(after.left, 0, "the challenge left the page");
        assert.equal(after.focused, "before", "focus came back to where it was");
      } finally {
        await context.close();
      }
    });
  }
}

test("the close label follows the locale option, else the page's <html lang>, else English", { timeout: 60_000 }, async () => {
  for (const [lang, options, expected] of [
    ["de", {}, "Abbrechen \u00d7"],
    ["de", { locale: "fr-CA" }, "Annuler \u00d7"],
    ["en", { locale: "pt-BR" }, "Cancelar \u00d7"],
    ["ja", {}, "Cancel \u00d7"],
  ]) {
    const { context, page } = await open(768, 1024, lang);
    try {
      await startPayment(page, { inContainer: true, options });
      await challengeFrame(page, demo.sandboxUrl);
      assert.equal((await measure(page)).label, expected, `lang ${lang}, ${JSON.stringify(options)}`);
      await page.click(".threeds-bridge-close");
      await page.waitForFunction(() => window.outcome);
    } finally {
      await context.close();
    }
  }
});

test("a polite waiting status shows during the 3DS Method and goes; waitingStatus: false turns it off", { timeout: 60_000 }, async () => {
  const { context, page } = await open(390, 844, "it");
  try {
    await startPayment(page, { inContainer: true, pan: METHOD_CARD, cart: PAYSAFE });
    await page.waitForFunction(() => window.events?.some((event) => event.type === "method-started"));
    const status = await page.waitForSelector(".threeds-bridge-status:not([hidden])", { timeout: 15_000 });
    assert.equal(await status.getAttribute("aria-live"), "polite");
    assert.equal(await status.getAttribute("role"), "status");
    assert.equal(await status.textContent(), "Verifica del pagamento\u2026");
    await challengeFrame(page, demo.sandboxUrl);
    assert.equal(await page.locator(".threeds-bridge-status:not([hidden])").count(), 0, "no status over the challenge");
    await page.click(".threeds-bridge-close");
    await page.waitForFunction(() => window.outcome);
    assert.equal(await page.locator(".threeds-bridge-status").count(), 0, "the status went with the payment");
  } finally {
    await context.close();
  }

  const quiet = await open(390, 844);
  try {
    await quiet.page.evaluate(() => {
      window.statusSeen = false;
      new MutationObserver(() => {
        if (document.querySelector(".threeds-bridge-status")) window.statusSeen = true;
      }).observe(document.body, { childList: true, subtree: true });
    });
    await startPayment(quiet.page, { inContainer: true, pan: METHOD_CARD, options: { waitingStatus: false }, cart: PAYSAFE });
    await challengeFrame(quiet.page, demo.sandboxUrl);
    const types = await quiet.page.evaluate(() => window.events.map((event) => event.type));
    assert.ok(types.includes("method-started"), types.join());
    assert.equal(await quiet.page.evaluate(() => window.statusSeen), false, "no status at all");
    await quiet.page.click(".threeds-bridge-close");
    await quiet.page.waitForFunction(() => window.outcome);
  } finally {
    await quiet.context.close();
  }
});
