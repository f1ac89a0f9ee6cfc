// What the end-to-end tests share: the demo process on free ports, headless Chromium
// through playwright-core, a cardholder who answers the issuer's challenge, the sandbox
// ledger, and evidence on failure (a screenshot under target/e2e/).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const EVIDENCE = join(ROOT, "target/e2e");

/** The flags ../shared/toolchain.md asks for: no sandbox in containers, no network. */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];

/**
 * Chromium's own notes at error level that say nothing about the checkout: it ignores the
 * `autofocus` of the issuer's challenge page in a cross-origin frame (the module moves
 * focus into the challenge itself).
 */
const BROWSER_NOTES = [/^Blocked autofocusing on a <input> element in a cross-origin subframe\.$/];

/** The binary `make test-e2e` built, or the newest one cargo left. */
function demoBinary() {
  if (process.env.THREEDS_BRIDGE_BIN) return process.env.THREEDS_BRIDGE_BIN;
  const targets = [process.env.CARGO_TARGET_DIR, join(ROOT, "target")].filter(Boolean);
  for (const target of targets) {
    for (const profile of ["native", "debug", "release"]) {
      const candidate = join(target, profile, "threeds-bridge");
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error("no threeds-bridge binary: run `make native` or set THREEDS_BRIDGE_BIN");
}

/**
 * Starts `threeds-bridge demo` on free ports with its own SQLite file, and resolves
 * once it printed both URLs and the demo's merchant API key.
 */
export async function startDemo(name) {
  mkdirSync(EVIDENCE, { recursive: true });
  const database = join(EVIDENCE, `${name}-${process.pid}-${Date.now()}.sqlite3`);
  const child = spawn(
    demoBinary(),
    ["demo", "--port", "0", "--sandbox-port", "0", "--root", ROOT, "--database", database],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const urls = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start in 20 s:\n${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      const page = output.match(/checkout page \+ backend\s+(http:\/\/\S+?)\/?\s/);
      const sandbox = output.match(/provider sandbox\s+(http:\/\/\S+?)\/?\s/);
      const key = output.match(/merchant API key\s+(\S+)\s/);
      if (page && sandbox && key) {
        clearTimeout(timer);
        resolvePromise({ pageUrl: page[1], sandboxUrl: sandbox[1], merchantKey: key[1] });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`demo exited with ${code}:\n${output}`));
    });
  });
  const config = await (await fetch(`${urls.pageUrl}/demo/config`)).json();
  return {
    ...urls,
    providers: config.providers ?? [],
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

export async function launchBrowser({ backForwardCache = false } = {}) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS,
    // playwright turns Chromium's back/forward cache off; a test of what Back restores
    // from it asks for it on.
    ignoreDefaultArgs: backForwardCache ? ["--disable-back-forward-cache"] : [],
  });
}

/**
 * A fresh page (own context: own sessionStorage) that records every console error,
 * uncaught exception and Content-Security-Policy violation, of the page and its frames.
 */
export async function openCheckout(browser, demo) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() !== "error" || BROWSER_NOTES.some((note) => note.test(message.text()))) return;
    problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(`exception: ${error.message}`));
  await page.goto(`${demo.pageUrl}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return { page, context, problems };
}

/** Fills the contract's fields and presses Pay (`clicks`: 2 for a double click). */
export async function fillAndPay(page, { provider, mode, pan, amount = 1000, currency = "USD", clicks = 1 }) {
  await page.selectOption("#provider", provider);
  await page.selectOption("#mode", mode);
  await page.fill("#card-number", pan);
  await page.fill("#amount", String(amount));
  await page.selectOption("#currency", currency);
  if (clicks === 2) await page.dblclick("#pay");
  else await page.click("#pay");
}

/** The frame (the page itself in redirect mode) showing the issuer's challenge form. */
export async function challengeFrame(page, sandboxUrl, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if (frame.url().startsWith(sandboxUrl) && (await frame.locator("#otp").count()) > 0) return frame;
      } catch {
        // The frame navigated away while we looked: look again.
      }
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`no challenge (#otp) from ${sandboxUrl} within ${timeoutMs} ms; page at ${page.url()}`);
}

/** The cardholder at the ACS: types a code and submits, or cancels. */
export async function answerChallenge(page, sandboxUrl, cardholder) {
  const frame = await challengeFrame(page, sandboxUrl);
  if (cardholder === "cancel") {
    await frame.click("#cancel");
  } else {
    await frame.fill("#otp", cardholder);
    await frame.click("#submit");
  }
}

/** The contract's `#result` attributes once the flow ended. */
export async function result(page, timeoutMs = 45_000) {
  const element = await page.waitForSelector("#result[data-status]", { timeout: timeoutMs });
  return element.evaluate((node) => ({ ...node.dataset }));
}

/** The merchant's server's calls (`Authorization: Bearer` the demo's key): `{status, body}`. */
export async function merchantApi(demo, path, body) {
  const response = await fetch(`${demo.pageUrl}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${demo.merchantKey}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

/** What the module adds to a confirm, as a test sends it without a browser. */
const BROWSER_SIDE = {
  browser: {
    acceptHeader: "text/html", javaEnabled: false, javascriptEnabled: true, language: "en-US",
    colorDepth: 24, screenHeight: 900, screenWidth: 1400, timeZone: 0, userAgent: "e2e",
  },
  display: "iframe",
};

/** The page's confirm as a script would send it (the demo page's Origin): `{status, body}`. */
export async function confirmAsPage(demo, id, body) {
  const response = await fetch(`${demo.pageUrl}/v1/payments/${id}/confirm`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: demo.pageUrl },
    body: JSON.stringify({ ...BROWSER_SIDE, checkoutOrigin: demo.pageUrl, ...body }),
  });
  return { status: response.status, body: await response.json() };
}

/** A frictionless sandbox card. */
export const FRICTIONLESS_CARD = {
  type: "card", number: "4000000000001000", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Jo Doe",
};

/** The sandbox's approved charges. */
export async function ledger(sandboxUrl) {
  const response = await fetch(`${sandboxUrl}/_sandbox/ledger`);
  return (await response.json()).entries;
}

/** The charges of one payment: by our order id, or by the provider's payment id. */
export function chargesOf(entries, provider, outcome) {
  return entries.filter(
    (entry) =>
      entry.provider === provider &&
      (entry.order_id === outcome.orderId ||
        (outcome.paymentId !== "" && entry.provider_payment_id === outcome.paymentId)),
  );
}

/**
 * Runs `body` with a fresh checkout page; on failure saves a full-page screenshot under
 * target/e2e/ (named after the test) before rethrowing; always closes the page. Fails
 * when the page logged a console error, an exception or a CSP violation.
 */
export async function withCheckout(t, browser, demo, body) {
  const checkout = await openCheckout(browser, demo);
  try {
    await body(checkout);
    if (checkout.problems.length > 0) {
      throw new Error(`the page reported problems:\n${checkout.problems.join("\n")}`);
    }
  } catch (error) {
    const file = join(EVIDENCE, `${t.name.replace(/[^a-zA-Z0-9]+/g, "-")}.png`);
    await checkout.page.screenshot({ path: file, fullPage: true }).catch(() => {});
    error.message += `\n(screenshot: ${file}; page at ${checkout.page.url()})`;
    throw error;
  } finally {
    await checkout.context.close();
  }
}
