// The demo checkout: a merchant's page using the threeds-bridge npm package exactly as
// the package's README shows, plus panels that show what happened (progress events,
// the result, and the backend's calls to the provider sandbox). The shop's server
// (POST /shop/checkout, src/demo/shop.rs) creates each payment with the merchant's API
// key; this page gets only the client secret and confirms with it.
import init, { ThreeDSecure } from "/pkg/threeds_bridge.js";
import { CARDS } from "/cards.js";

const $ = (id) => document.getElementById(id);

/** What the page keeps across a full-page redirect (the module keeps its own state). */
const PENDING_KEY = "threeds-bridge-demo:pending";

const RESULT_ATTRIBUTES = ["status", "eci", "transStatus", "liabilityShift", "paymentId", "orderId", "errorCode"];

/** Each provider's usual currency in the sandbox (Bambora's merchant settles in CAD only). */
const PROVIDER_CURRENCY = { payroc: "USD", dlocal: "BRL", paysafe: "USD", bambora: "CAD" };

const CUSTOM = "custom";

let paying = false;

/** A card number as the page may keep it: the first six and last four digits. */
function maskCard(number) {
  const digits = number.replace(/\D/g, "");
  return digits.length > 10 ? `${digits.slice(0, 6)}${"•".repeat(digits.length - 10)}${digits.slice(-4)}` : "••••";
}

function fillCards() {
  const preset = $("card-preset");
  const list = $("card-list");
  const groups = new Map();
  for (const card of CARDS) {
    if (!groups.has(card.group)) {
      const group = document.createElement("optgroup");
      group.label = card.group;
      groups.set(card.group, group);
      preset.append(group);
    }
    const label = `${card.pan} · ${card.brand} · ${card.scenario}`;
    groups.get(card.group).append(new Option(label, card.pan));
    const hint = document.createElement("option");
    hint.value = card.pan;
    hint.label = card.scenario;
    list.append(hint);
  }
  // "Custom" stands for any typed number that is not a sandbox card.
  preset.prepend(new Option("Custom (the number typed below)", CUSTOM));
  const sync = () => {
    if (preset.value !== CUSTOM) $("card-number").value = preset.value;
    describeCard();
  };
  preset.addEventListener("change", sync);
  $("card-number").addEventListener("input", describeCard);
  preset.value = CARDS[0].pan;
  sync();
}

/** The select and the number agree: a sandbox card's number selects it, any other "custom". */
function describeCard() {
  const pan = $("card-number").value.replace(/\s+/g, "");
  const card = CARDS.find((c) => c.pan === pan);
  $("card-preset").value = card ? card.pan : CUSTOM;
  $("card-scenario").textContent = card
    ? `Scenario: ${card.scenario}`
    : "Not a sandbox card: a Luhn-valid number authenticates frictionless Y.";
}

// ---- timeline -------------------------------------------------------------------

function describeEvent(event) {
  switch (event.type) {
    case "browser-details": return "browser details collected";
    case "method-started": return "3DS Method started (hidden iframe)";
    case "method-completed": return `3DS Method completed: ${event.completion}`;
    case "challenge-shown": return `challenge shown (window size ${event.windowSize})`;
    case "challenge-completed": return "challenge completed";
    case "authorizing": return "backend working (authentication / authorization)";
    case "redirecting": return "leaving for the issuer's page (redirect)";
    case "done": return `done: ${event.status}`;
    default: return event.type;
  }
}

function renderTimeline(pending) {
  const list = $("timeline");
  list.replaceChildren();
  for (const entry of pending.events) {
    const item = document.createElement("li");
    const time = document.createElement("span");
    time.className = "elapsed";
    time.textContent = `+${Math.max(0, Math.round(entry.at - pending.startedAt))} ms`;
    item.append(time, ` ${entry.text}`);
    list.append(item);
  }
}

function record(pending, text, at = Date.now()) {
  pending.events.push({ at, text });
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  renderTimeline(pending);
}

// ---- result -----------------------------------------------------------------------

function clearResult() {
  const result = $("result");
  for (const name of RESULT_ATTRIBUTES) delete result.dataset[name];
  result.replaceChildren(paragraph("Paying…", "muted"));
}

function paragraph(text, className) {
  const p = document.createElement("p");
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

/** Shows a final result and sets the contract's `#result` data attributes. */
function showResult(pending, result) {
  const element = $("result");
  const rows = [
    ["Status", result.status],
    ["Provider payment id", result.providerPaymentId],
    ["3-D Secure version", result.threeDsVersion],
    ["transStatus", result.transStatus],
    ["ECI", result.eci],
    ["Liability shift", result.liabilityShift ? "yes" : "no"],
    ["Error code", result.error?.code],
    ["Provider code", result.error?.providerCode],
    ["Provider message", result.error?.providerMessage],
    ["Amount (minor units)", result.amount],
    ["Currency", result.currency],
    ["Order", result.orderId],
  ];
  const list = document.createElement("dl");
  for (const [name, value] of rows) {
    if (value === undefined || value === null || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    list.append(dt, dd);
  }
  element.replaceChildren(list);
  element.className = `status-${result.status}`;
  const data = element.dataset;
  data.orderId = result.orderId ?? "";
  data.eci = result.eci ?? "";
  data.transStatus = result.transStatus ?? "";
  data.liabilityShift = String(Boolean(result.liabilityShift));
  data.paymentId = result.providerPaymentId ?? "";
  if (result.error?.code) data.errorCode = result.error.code;
  data.status = result.status; // last: tests wait for it
}

/**
 * `pay()`/`resume()` rejected: the module's stable code, shown as an `error` result; or, for
 * `pending`, a payment the backend is still confirming (its outcome comes later: never "pay
 * again").
 */
function showFailure(pending, error) {
  if (error?.code === "pending") {
    showResult(pending, {
      status: "processing",
      liabilityShift: false,
      error: { code: "pending", providerMessage: "Processing: the payment is being confirmed; the shop will confirm the outcome." },
    });
    return;
  }
  showResult(pending, {
    status: "error",
    liabilityShift: false,
    error: { code: error?.code ?? "unknown", providerMessage: error?.message },
  });
}

// ---- what happened ------------------------------------------------------------------

async function showExchanges(pending) {
  const body = $("exchanges").tBodies[0];
  body.replaceChildren();
  if (!pending.clientSecret) return; // the shop never created the payment
  // The panel shows a payment's calls only to the holder of its client secret.
  const response = await fetch("/demo/exchanges", { headers: { "x-client-secret": pending.clientSecret } });
  if (!response.ok) return;
  const { exchanges } = await response.json();
  for (const exchange of exchanges) {
    const row = body.insertRow();
    const cells = [
      `+${Math.max(0, Math.round(exchange.startedAtMs - pending.startedAt))}`,
      exchange.purpose,
      exchange.method,
      exchange.path,
      exchange.status ?? exchange.failure ?? "",
      `${exchange.durationMs} ms`,
    ];
    for (const text of cells) row.insertCell().textContent = String(text);
    const bodies = row.insertCell();
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "request / response";
    const request = document.createElement("pre");
    request.textContent = exchange.requestBody || "(no body)";
    const reply = document.createElement("pre");
    reply.textContent = exchange.responseBody || "(no body)";
    details.append(summary, request, reply);
    bodies.append(details);
  }
}

// The backend delivers the payment's event a moment after the result (from its outbox):
// ask a few times until the shop's receiver has it.
async function showWebhooks(pending) {
  const body = $("webhooks").tBodies[0];
  body.replaceChildren();
  if (!pending.clientSecret) return;
  for (let tries = 0; tries < 20; tries++) {
    const response = await fetch("/demo/webhooks", { headers: { "x-client-secret": pending.clientSecret } });
    if (!response.ok) return;
    const { deliveries } = await response.json();
    if (deliveries.length > 0) {
      for (const delivery of deliveries) {
        const row = body.insertRow();
        const cells = [
          `+${Math.max(0, Math.round(delivery.receivedAtMs - pending.startedAt))} ms`,
          delivery.eventId,
          delivery.type,
          delivery.status ?? "",
          delivery.verified ? (delivery.duplicate ? "valid (duplicate, ignored)" : "valid") : "INVALID",
        ];
        for (const text of cells) row.insertCell().textContent = String(text);
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// ---- paying -----------------------------------------------------------------------

function bridge(pending) {
  return new ThreeDSecure({
    backendUrl: location.origin,
    container: $("challenge"),
    display: pending.mode,
    challengeWindowSize: "auto",
    onEvent: (event) => record(pending, describeEvent(event), event.at),
  });
}

/** The cart as the demo form describes it; the shop's server turns it into a payment. */
function cart(pending) {
  return {
    provider: pending.provider,
    amount: Number.parseInt($("amount").value, 10),
    currency: $("currency").value,
    payer: {
      name: $("holder-name").value,
      email: $("payer-email").value,
      document: $("payer-document").value,
      country: $("payer-country").value.toUpperCase(),
    },
  };
}

// ---- card entry: direct fields or the provider's hosted fields ----------------------

/** The sandbox origin (the provider's fields are served from it). */
let sandboxOrigin = "";

/** The direct card inputs, hidden while the provider's fields take the card. */
const DIRECT_FIELDS = ["card-preset", "card-number", "expiry-month", "expiry-year", "cvv"];

function providerFields() {
  return $("provider-fields").querySelector("iframe");
}

/** Shows the chosen card entry; in provider mode, the provider's fields for the provider. */
function showCardEntry() {
  const provided = $("card-entry").value === "provider";
  for (const id of DIRECT_FIELDS) $(id).closest(".row").hidden = provided;
  $("card-scenario").hidden = provided;
  $("provider-fields").hidden = !provided;
  providerFields()?.remove();
  if (!provided) return;
  const frame = document.createElement("iframe");
  frame.id = "card-fields";
  frame.title = "Card details (provider's fields)";
  const parent = encodeURIComponent(location.origin);
  frame.src = `${sandboxOrigin}/_sandbox/hosted-fields/${$("provider").value}?parent=${parent}`;
  $("provider-fields").append(frame);
}

/**
 * Asks the provider's fields for a token: they post the card to the provider and answer
 * only `{token, bin?}`. Messages from any other window or origin are ignored.
 */
function tokenFromProviderFields() {
  const frame = providerFields();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(null, "the card fields did not answer"), 15_000);
    function done(answer, message) {
      clearTimeout(timer);
      window.removeEventListener("message", listen);
      if (answer) resolve(answer);
      else reject(Object.assign(new Error(message), { code: "tokenization_failed" }));
    }
    function listen(event) {
      if (event.origin !== sandboxOrigin || event.source !== frame?.contentWindow) return;
      if (event.data?.type === "token" && typeof event.data.token === "string") done(event.data);
      else if (event.data?.type === "error") done(null, String(event.data.message ?? "tokenization failed"));
    }
    window.addEventListener("message", listen);
    frame.contentWindow.postMessage({ type: "tokenize" }, sandboxOrigin);
  });
}

/** How the cardholder pays: all the page adds to the payment the shop created. */
async function paymentMethod() {
  if ($("card-entry").value === "provider") {
    // The fields' answer: the token, and the card's BIN where the provider tells it.
    const { token, bin } = await tokenFromProviderFields();
    return typeof bin === "string" ? { type: "token", token, bin } : { type: "token", token };
  }
  return {
    type: "card",
    number: $("card-number").value.replace(/\s+/g, ""),
    expiryMonth: Number.parseInt($("expiry-month").value, 10),
    expiryYear: Number.parseInt($("expiry-year").value, 10),
    cvv: $("cvv").value,
    holderName: $("holder-name").value,
  };
}

/** The shop's server creates the payment (with its API key) and answers its client secret. */
async function checkout(pending) {
  const response = await fetch("/shop/checkout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(cart(pending)),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(answer.error?.message ?? `the shop answered ${response.status}`), {
      code: answer.error?.code ?? "shop_unavailable",
    });
  }
  return answer;
}

async function finish(pending, outcome) {
  const result = outcome?.result ?? outcome;
  showResult(pending, result);
  sessionStorage.removeItem(PENDING_KEY);
  paying = false;
  $("pay").disabled = false;
  await showExchanges(pending);
  await showWebhooks(pending);
}

async function fail(pending, error) {
  showFailure(pending, error);
  record(pending, `stopped: ${error?.code ?? error}`);
  sessionStorage.removeItem(PENDING_KEY);
  paying = false;
  $("pay").disabled = false;
  await showExchanges(pending);
  await showWebhooks(pending);
}

async function pay(event) {
  event.preventDefault();
  if (paying) return; // a second click while paying: the first payment goes on
  paying = true;
  $("pay").disabled = true;
  const pending = {
    provider: $("provider").value,
    mode: $("mode").value,
    // What a reload shows of the payment it resumes (never the whole card number).
    card: maskCard($("card-number").value),
    amount: $("amount").value,
    currency: $("currency").value,
    clientSecret: null,
    startedAt: Date.now(),
    events: [],
  };
  clearResult();
  $("exchanges").tBodies[0].replaceChildren();
  $("webhooks").tBodies[0].replaceChildren();
  record(pending, `Pay: ${pending.provider}, ${pending.mode}, card entry ${$("card-entry").value}`);
  try {
    const method = await paymentMethod();
    if (method.type === "token") record(pending, "the provider's fields answered a token");
    const { id, clientSecret } = await checkout(pending);
    pending.clientSecret = clientSecret; // kept (this tab only) for the panel after a redirect
    record(pending, `the shop created payment ${id}`);
    await finish(pending, await bridge(pending).pay({ clientSecret, paymentMethod: method }));
  } catch (error) {
    await fail(pending, error);
  }
}

/**
 * Back on the page while a payment was under way (a full-page redirect came back, or the
 * page was reloaded): the module finishes the payment it kept, if any.
 */
async function resume(pending) {
  paying = true;
  $("pay").disabled = true;
  $("provider").value = pending.provider;
  $("mode").value = pending.mode;
  showResumed(pending);
  clearResult();
  record(pending, "back on the checkout page: resume()");
  try {
    const outcome = await bridge(pending).resume();
    if (outcome === null || outcome === undefined) {
      record(pending, "nothing to resume: the payment had not started");
      $("card-number").value = CARDS[0].pan;
      describeCard();
      sessionStorage.removeItem(PENDING_KEY);
      $("result").replaceChildren(paragraph("No payment yet.", "muted"));
      paying = false;
      $("pay").disabled = false;
      return;
    }
    await finish(pending, outcome);
  } catch (error) {
    await fail(pending, error);
  }
}

/** The form shows the payment being resumed: its card (masked) and its order. */
function showResumed(pending) {
  if (pending.amount) $("amount").value = pending.amount;
  if (pending.currency) $("currency").value = pending.currency;
  if (!pending.card) return;
  $("card-number").value = pending.card;
  $("card-preset").value = CUSTOM;
  $("card-scenario").textContent =
    `Resuming the payment of card ${pending.card}: ${pending.amount} ${pending.currency} with ${pending.provider}.`;
}

async function main() {
  fillCards();
  $("provider").addEventListener("change", () => {
    $("currency").value = PROVIDER_CURRENCY[$("provider").value] ?? "USD";
    if ($("card-entry").value === "provider") showCardEntry();
  });
  $("card-entry").addEventListener("change", showCardEntry);
  $("checkout").addEventListener("submit", pay);
  const config = await (await fetch("/demo/config")).json();
  $("sandbox-origin").textContent = config.sandboxUrl;
  sandboxOrigin = new URL(config.sandboxUrl).origin;
  await init();
  const saved = sessionStorage.getItem(PENDING_KEY);
  if (saved) {
    const pending = JSON.parse(saved);
    renderTimeline(pending);
    await resume(pending);
  }
}

main().then(
  () => { document.body.dataset.ready = "true"; },
  (error) => {
    $("result").replaceChildren(paragraph(`The demo could not start: ${error?.message ?? error}`, "error"));
    document.body.dataset.ready = "failed";
  },
);
