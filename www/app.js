// The demo checkout: a merchant's page using the threeds-bridge npm package exactly as
// the package's README shows, plus panels that show what happened (progress events,
// the result, and the backend's calls to the provider sandbox).
import init, { ThreeDSecure } from "/pkg/threeds_bridge.js";
import { CARDS } from "/cards.js";

const $ = (id) => document.getElementById(id);

/** What the page keeps across a full-page redirect (the module keeps its own state). */
const PENDING_KEY = "threeds-bridge-demo:pending";

const RESULT_ATTRIBUTES = ["status", "eci", "transStatus", "liabilityShift", "paymentId", "orderId", "errorCode"];

/** Each provider's usual currency in the sandbox (Bambora's merchant settles in CAD only). */
const PROVIDER_CURRENCY = { payroc: "USD", dlocal: "BRL", paysafe: "USD", bambora: "CAD" };

let orderId = "";
let paying = false;

function newOrder() {
  const random = crypto.getRandomValues(new Uint32Array(2));
  orderId = `demo-${Date.now().toString(36)}-${random[0].toString(36)}${random[1].toString(36)}`;
  $("order-id").value = orderId;
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
  const sync = () => {
    $("card-number").value = preset.value;
    describeCard();
  };
  preset.addEventListener("change", sync);
  $("card-number").addEventListener("input", describeCard);
  sync();
}

function describeCard() {
  const pan = $("card-number").value.replace(/\s+/g, "");
  const card = CARDS.find((c) => c.pan === pan);
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
    ["Order", pending.orderId],
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
  data.orderId = pending.orderId;
  data.eci = result.eci ?? "";
  data.transStatus = result.transStatus ?? "";
  data.liabilityShift = String(Boolean(result.liabilityShift));
  data.paymentId = result.providerPaymentId ?? "";
  if (result.error?.code) data.errorCode = result.error.code;
  data.status = result.status; // last: tests wait for it
}

/** `pay()`/`resume()` rejected: the module's stable code, shown as an `error` result. */
function showFailure(pending, error) {
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
  const query = new URLSearchParams({ provider: pending.provider, orderId: pending.orderId });
  const response = await fetch(`/demo/exchanges?${query}`);
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

function paymentRequest(pending) {
  const amount = Number.parseInt($("amount").value, 10);
  return {
    provider: pending.provider,
    orderId: pending.orderId,
    amount,
    currency: $("currency").value,
    description: "threeds-bridge demo",
    paymentMethod: {
      type: "card",
      number: $("card-number").value.replace(/\s+/g, ""),
      expiryMonth: Number.parseInt($("expiry-month").value, 10),
      expiryYear: Number.parseInt($("expiry-year").value, 10),
      cvv: $("cvv").value,
      holderName: $("holder-name").value,
    },
    payer: {
      name: $("holder-name").value,
      email: $("payer-email").value,
      document: $("payer-document").value,
      country: $("payer-country").value.toUpperCase(),
    },
    returnUrl: `${location.origin}/?returned=1`,
  };
}

async function finish(pending, outcome) {
  const result = outcome?.result ?? outcome;
  showResult(pending, result);
  sessionStorage.removeItem(PENDING_KEY);
  paying = false;
  $("pay").disabled = false;
  newOrder();
  await showExchanges(pending);
}

async function fail(pending, error) {
  showFailure(pending, error);
  record(pending, `stopped: ${error?.code ?? error}`);
  sessionStorage.removeItem(PENDING_KEY);
  paying = false;
  $("pay").disabled = false;
  newOrder();
  await showExchanges(pending);
}

async function pay(event) {
  event.preventDefault();
  if (paying) return; // a second click while paying: the first payment goes on
  paying = true;
  $("pay").disabled = true;
  const pending = {
    provider: $("provider").value,
    mode: $("mode").value,
    orderId,
    startedAt: Date.now(),
    events: [],
  };
  clearResult();
  $("exchanges").tBodies[0].replaceChildren();
  record(pending, `Pay: ${pending.provider}, ${pending.mode}, order ${pending.orderId}`);
  try {
    await finish(pending, await bridge(pending).pay(paymentRequest(pending)));
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
  clearResult();
  record(pending, "back on the checkout page: resume()");
  try {
    const outcome = await bridge(pending).resume();
    if (outcome === null || outcome === undefined) {
      record(pending, "nothing to resume: the payment had not started");
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

async function main() {
  fillCards();
  newOrder();
  $("new-order").addEventListener("click", newOrder);
  $("provider").addEventListener("change", () => {
    $("currency").value = PROVIDER_CURRENCY[$("provider").value] ?? "USD";
  });
  $("checkout").addEventListener("submit", pay);
  const config = await (await fetch("/demo/config")).json();
  $("sandbox-origin").textContent = config.sandboxUrl;
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
