// What the edge tests need to act as the merchant's server (its API key), the checkout
// page (the payment's client secret) and the cardholder's browser against the example
// worker (in miniflare, the real workerd) and the native sandbox: the JavaScript twin of
// tests/native/support (mod.rs, backend.rs, cardholder.rs). Real HTTP on 127.0.0.1 only.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { sandboxConfig } from "../../examples/edge-worker/miniflare.mjs";

export const CHECKOUT = "http://checkout.test";
const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A port nobody listens on now (the worker's, chosen before the sandbox needs it), taken
 * below the kernel's ephemeral range as tests/native/support/serve.rs takes its own: a port
 * the kernel handed out for port 0 is free only until it hands it out again to one of the
 * client connections the other tests open before the worker listens on it.
 */
export async function freePort() {
  const span = 10_000;
  const low = Math.max(1_024, ephemeralFrom - 12_000);
  const start = (process.pid * 7_919) % span;
  for (let tries = 0; tries < span; tries++) {
    const port = low + ((start + nextPort++) % span);
    if (await canListen(port)) return port;
  }
  throw new Error("no free port below the ephemeral range");
}

let nextPort = 0;
const ephemeralFrom = (() => {
  try {
    const first = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0];
    return Number(first) || 32_768;
  } catch {
    return 32_768;
  }
})();

function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The native binary: $THREEDS_BRIDGE_BIN, or what `make native` built. */
export function sandboxBinary() {
  const candidates = [process.env.THREEDS_BRIDGE_BIN, `${root}target/native/threeds-bridge`].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`no threeds-bridge binary (tried ${candidates.join(", ")}): run make native`);
  return found;
}

/**
 * `threeds-bridge sandbox --port 0` whose Payroc terminal sends receipts to the worker at
 * `workerUrl`. Resolves `{ url, pid, stop }` once it prints where it serves.
 */
export function startSandbox(workerUrl) {
  const child = spawn(
    sandboxBinary(),
    ["sandbox", "--port", "0", "--payroc-receipt-url", `4479001=${workerUrl}/v1/returns/payroc`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the sandbox did not start in 10 s")), 10_000);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the sandbox exited (${code})`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = line.match(/^threeds-bridge sandbox: serving (\S+)/);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      const stop = () =>
        new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once("exit", done);
          child.kill("SIGINT");
        });
      resolve({ url: match[1], pid: child.pid, stop });
    });
  });
}

/**
 * The sandbox's fault rules (`{ provider, endpoint, hang | latency_ms | … }`): set to
 * `rules`, or all cleared when `rules` is null.
 */
export function faults(sandboxUrl, rules) {
  return fetch(`${sandboxUrl}/_sandbox/faults`, {
    method: rules ? "POST" : "DELETE",
    headers: { "content-type": "application/json" },
    body: rules && JSON.stringify({ rules }),
  });
}

/**
 * A worker's port and URL, the sandbox started for it, and the sandbox configuration with
 * `calls` and the checkout origin; a test adds its own settings before it starts the worker.
 */
export async function sandboxedWorker(calls) {
  const port = await freePort();
  const workerUrl = `http://127.0.0.1:${port}`;
  const sandbox = await startSandbox(workerUrl);
  const config = sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT], calls });
  return { port, workerUrl, sandbox, config };
}

/** Polls `check` every 100 ms until it answers something, for at most `ms`; else null. */
export async function until(ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sandbox ledger's entries (every approved charge). */
export async function ledger(sandboxUrl) {
  const answer = await fetch(`${sandboxUrl}/_sandbox/ledger`);
  return (await answer.json()).entries;
}

/** What the merchant's server decides: `POST /v1/payments` with its API key. */
export function createBody(provider, { amount = 1099, currency, orderId } = {}) {
  return {
    provider,
    // Bambora takes order numbers of at most 30 characters.
    orderId: orderId ?? `order-${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    amount,
    currency: currency ?? { dlocal: "BRL", bambora: "CAD" }[provider] ?? "USD",
    payer: { name: "Jo Doe", email: "jo@example.com", document: "53033315550", country: "BR" },
    returnUrl: `${CHECKOUT}/checkout?step=resume`,
  };
}

/** The card as the page sends it. */
export function card(pan) {
  return { type: "card", number: pan, expiryMonth: 12, expiryYear: 2040, cvv: "123", holderName: "Jo Doe" };
}

/** What the checkout page adds: `POST /v1/payments/{id}/confirm` with the client secret. */
export function confirmBody(clientSecret, pan, display, extra = {}) {
  return {
    clientSecret,
    paymentMethod: card(pan),
    browser: {
      acceptHeader: "forged/by-the-page", javaEnabled: false, javascriptEnabled: true, language: "en-GB",
      colorDepth: 24, screenHeight: 1080, screenWidth: 1920, timeZone: -60,
      userAgent: "Mozilla/5.0 (X11; Linux x86_64) edge-test",
    },
    display,
    windowSize: "03",
    checkoutOrigin: CHECKOUT,
    ...extra,
  };
}

async function json(response) {
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/** What the page's requests carry that the backend reads itself (never from the body). */
export const PAGE_HEADERS = {
  "content-type": "application/json",
  origin: CHECKOUT,
  accept: "text/html,application/xhtml+xml",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) edge-test",
};

/**
 * The backend at `base`, as the merchant's server (with `key`; `null` sends none) and as
 * the checkout page (with the payment's client secret) call it.
 */
export const api = {
  /** The merchant's server: `POST /v1/payments`, no Origin (it is not a browser). */
  create: (base, body, key) =>
    fetch(`${base}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key && { authorization: `Bearer ${key}` }) },
      body: JSON.stringify(body),
    }).then(json),
  /** The merchant's server: the full view. */
  read: (base, id, key) =>
    fetch(`${base}/v1/payments/${id}`, { headers: key ? { authorization: `Bearer ${key}` } : {} }).then(json),
  /** The page: `POST /v1/payments/{id}/confirm`. */
  confirm: (base, id, body) =>
    fetch(`${base}/v1/payments/${id}/confirm`, { method: "POST", headers: PAGE_HEADERS, body: JSON.stringify(body) }).then(json),
  /** The page: its own payment's view (`X-Client-Secret`). */
  view: (base, id, clientSecret) =>
    fetch(`${base}/v1/payments/${id}`, { headers: { origin: CHECKOUT, "x-client-secret": clientSecret } }).then(json),
  /** The page: the 3DS Method's completion. */
  method: (base, id, clientSecret, completion) =>
    fetch(`${base}/v1/payments/${id}/method`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: CHECKOUT },
      body: JSON.stringify({ clientSecret, completion }),
    }).then(json),
};

/**
 * A payment created by the merchant's server (`key`) and confirmed by the page:
 * `{ created, confirmed }`, both `{ status, body }`.
 */
export async function createAndConfirm(base, key, provider, pan, display, options) {
  const created = await api.create(base, createBody(provider, options), key);
  if (created.status !== 201) return { created, confirmed: null };
  const confirmed = await api.confirm(base, created.body.id, confirmBody(created.body.clientSecret, pan, display));
  return { created, confirmed };
}

// --- the browser: forms, pages, redirects -------------------------------------------

const unescape = (text) =>
  text.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

function attribute(tag, name) {
  const match = tag.match(new RegExp(` ${name}="([^"]*)"`));
  return match ? unescape(match[1]) : undefined;
}

/** Every `<form>` of a page with its named inputs, as tests/native/support/mod.rs reads them. */
export function forms(html) {
  const found = [];
  for (const [, tag, body] of html.matchAll(/<form([^>]*)>([\s\S]*?)(?:<\/form>|$)/g)) {
    const fields = [];
    for (const [input] of body.matchAll(/<input[^>]*>/g)) {
      const name = attribute(input, "name");
      if (name !== undefined) fields.push([name, attribute(input, "value") ?? ""]);
    }
    found.push({ id: attribute(tag, "id"), action: attribute(tag, "action") ?? "", method: attribute(tag, "method") ?? "get", fields });
  }
  return found;
}

/** The `next.form` of a Payment view as a page form. */
export function nextForm(view) {
  const form = view.next.form;
  return { action: form.action, method: form.method.toLowerCase(), fields: form.fields.map((f) => [f.name, f.value]) };
}

function setField(form, name, value) {
  const field = form.fields.find(([n]) => n === name);
  if (field) field[1] = value;
  else form.fields.push([name, value]);
}

/** Submits `form` as a browser would, never following redirects by itself. */
export function submit(form, base) {
  const url = new URL(form.action, base);
  if (form.method.toLowerCase() === "get") {
    for (const [name, value] of form.fields) url.searchParams.append(name, value);
    return fetch(url, { redirect: "manual" }).then((response) => ({ url: url.toString(), response }));
  }
  return fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form.fields).toString(),
  }).then((response) => ({ url: url.toString(), response }));
}

/**
 * Follows `first` through pages, redirects and auto-submit forms (typing `code` on a
 * challenge page, or cancelling when it is null) until the browser would land on
 * `backend`: answers that form (absolute), not yet submitted, to submit as often as a
 * test likes.
 */
export async function followToBackend(backend, first, code) {
  let next = first;
  let base = first.action;
  for (let i = 0; i < 15; i += 1) {
    const url = new URL(next.action, base).toString();
    if (url.startsWith(backend)) return { ...next, action: url };
    const { response } = await submit(next, base);
    base = url;
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      next = { action: new URL(location, base).toString(), method: "get", fields: [] };
      continue;
    }
    const page = await response.text();
    const all = forms(page);
    const challenge = all.find((f) => f.id === "challenge");
    if (challenge) {
      if (code === null) setField(challenge, "action", "cancel");
      else {
        setField(challenge, "otp", code);
        setField(challenge, "action", "submit");
      }
      next = challenge;
    } else {
      next = all.find((f) => f.id === "autosubmit" || f.id === "form1");
      if (!next) throw new Error(`the browser is stuck on a page with nothing to submit:\n${page}`);
    }
  }
  throw new Error("the browser never came back to the backend");
}

/** Submits a form that lands on the backend: `{ status, location, body }`. */
export async function land(form) {
  const { response } = await submit(form, form.action);
  return { status: response.status, location: response.headers.get("location"), body: await response.text() };
}

/** Runs the 3DS Method form as the hidden iframe would: "Y" if the ACS answered. */
export async function runMethod(backend, view) {
  const form = nextForm(view);
  const { response } = await submit(form, form.action);
  const notification = forms(await response.text()).find((f) => f.id === "autosubmit");
  if (!notification) return "N";
  const { response: landed } = await submit(notification, form.action);
  await landed.text();
  return "Y";
}

/**
 * Drives a confirmed payment (`view`, the page's) through the backend at `base` to its end,
 * as the page and the cardholder's browser would: the 3DS Method, then each challenge or
 * redirect followed to the backend (typing `code`) and its return delivered by `deliver`
 * (`onBrowserStep` runs before each). `{ view, landings }`: the final view, and each
 * return's form with what the backend answered it.
 */
export async function driveToEnd(base, view, clientSecret, { code = "1234", onBrowserStep = async () => {}, deliver = land } = {}) {
  const landings = [];
  for (let i = 0; i < 8; i += 1) {
    switch (view.next.type) {
      case "none":
        if (view.state === "final") return { view, landings };
        view = (await api.view(base, view.id, clientSecret)).body;
        break;
      case "method": {
        const completion = await runMethod(base, view);
        const answer = await api.method(base, view.id, clientSecret, completion);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        view = answer.body;
        break;
      }
      case "challenge":
      case "redirect": {
        await onBrowserStep(view);
        const form = await followToBackend(base, nextForm(view), code);
        landings.push({ form, answers: await deliver(form) });
        const answer = await api.view(base, view.id, clientSecret);
        assert.equal(answer.status, 200);
        view = answer.body;
        break;
      }
      default:
        assert.fail(`unexpected next: ${JSON.stringify(view)}`);
    }
  }
  assert.fail(`the payment did not finish: ${JSON.stringify(view)}`);
}
