// The checkout-page module's JavaScript (bundled into the package's glue): the elements
// the Rust side asks for, from values that side has already checked (sizes from the EMV
// window size, http(s) form actions, field names and values set as attribute values,
// never markup); the backend `fetch`; two result shapes. Here because each is smaller
// written in JavaScript than built from Rust member by member (docs/browser.md, Size).
// No decisions and no listeners here; removal is Rust's (Drop).

// Styles go through the CSSOM: a page CSP without 'unsafe-inline' blocks style attributes.
function el(doc, tag, attrs, parent) {
  const e = doc.createElement(tag);
  for (const k in attrs) k == "style" ? (e.style.cssText = attrs[k]) : e.setAttribute(k, attrs[k]);
  if (parent) parent.append(e);
  return e;
}

// The challenge's host with its close button and iframe (`name`): a wrapper in
// `container`, or else a modal <dialog> (full viewport when `width` is 0). Returns the host.
export function mountChallenge(doc, name, width, height, container) {
  const full = !width, w = full ? "100%" : width + "px", h = full ? "100%" : height + "px";
  const host = container
    ? el(doc, "div", { class: "threeds-bridge-challenge", style: "position:relative;display:inline-block" })
    : el(doc, "dialog", {
      class: "threeds-bridge-dialog", "aria-label": "3-D Secure",
      style: full
        ? "padding:0;border:0;margin:0;width:100vw;height:100vh;max-width:100vw;max-height:100vh;overflow:hidden"
        : "padding:0;border:0;overflow:visible",
    });
  el(doc, "button", {
    type: "button", class: "threeds-bridge-close", "aria-label": "Cancel",
    style: "position:absolute;top:4px;right:4px;z-index:1",
  }, host).textContent = "\u00d7";
  el(doc, "iframe", {
    name, title: "3-D Secure", width: full ? w : width, height: full ? h : height,
    style: `display:block;border:0;width:${w};height:${h}`,
    sandbox: "allow-forms allow-scripts allow-same-origin allow-popups",
  }, host);
  (container || doc.body).append(host);
  if (!container) host.showModal();
  return host;
}

// The Method's hidden iframe (`name`), in the body.
export function methodFrame(doc, name) {
  return el(doc, "iframe", {
    name, title: "3-D Secure device check", "aria-hidden": "true", tabindex: "-1",
    style: "position:absolute;width:0;height:0;border:0;visibility:hidden",
  }, doc.body);
}

// POSTs `fields` ([name, value, name, value, …]) to `action` in the window `target`;
// the <form> leaves the page right after submit().
export function postForm(doc, action, target, fields) {
  const form = el(doc, "form", { method: "post", target, action }, doc.body);
  for (let i = 0; i < fields.length; i += 2)
    el(doc, "input", { type: "hidden", name: fields[i], value: fields[i + 1] }, form);
  try {
    form.submit();
  } finally {
    form.remove();
  }
}

// The page's window, or undefined outside a page (a worker has no DOM to work with).
export function pageWindow() {
  return typeof window === "object" ? window : undefined;
}

// The final result as the page gets it: the backend's `result` with the payment's id,
// amount, currency and order id from its view (values the Rust side read as one payment's).
export function describePayment(result, view) {
  result.paymentId = view.id;
  result.amount = view.amount;
  result.currency = view.currency;
  result.orderId = view.orderId;
}

// The result of a payment the page gave up on while the backend had none (`paymentId`
// null when the backend never answered).
export function cancelledResult(paymentId = null) {
  return {
    status: "cancelled", paymentId, amount: null, currency: null, orderId: null,
    providerPaymentId: null, threeDsVersion: null, transStatus: null, eci: null,
    liabilityShift: false, error: { code: "challenge_cancelled" },
  };
}

// The module's errors: an Error with a stable `code`; the prose is here, not in the wasm
// (the codes are documented in the .d.ts). `message` is the backend's own, when it gave one.
const MESSAGES = {
  network: "the backend could not be reached",
  timeout: "the backend or the challenge did not finish in time",
  aborted: "aborted",
  bad_response: "the backend answered something that is not its documented shape",
  invalid_options: "the options or the payment request are unusable",
  busy: "a payment is already running",
  unsupported: "not a browser page this module can work in",
  pending: "the payment is being confirmed",
};
export function bridgeError(code, message) {
  return Object.assign(new Error(message || MESSAGES[code] || "the browser details break the EMV rules"), { code });
}

// The constructor's options, checked: [backend base URL (no query, hash or trailing
// slash), its origin, redirect?, challengeWindowSize, container, methodTimeoutMs,
// challengeTimeoutMs, onEvent]. Throws invalid_options naming the first unusable one.
export function readOptions(o) {
  const bad = (why) => { throw bridgeError("invalid_options", why); };
  const given = (v) => v !== undefined && v !== null;
  const ms = (name) => {
    const v = o[name];
    if (given(v) && !(typeof v == "number" && v >= 0 && v <= 36e5)) bad(name + " must be milliseconds");
    return given(v) ? v : undefined;
  };
  if (typeof o != "object" || !o) bad("options must be an object");
  const { backendUrl, display, challengeWindowSize: size, container, onEvent } = o;
  if (typeof backendUrl != "string") bad("backendUrl is required");
  let url;
  try { url = new URL(backendUrl, location.href); } catch { bad("backendUrl is not a URL"); }
  if (!/^https?:$/.test(url.protocol)) bad("backendUrl must be http(s)");
  url.search = url.hash = "";
  if (given(display) && display != "iframe" && display != "redirect") bad("display must be iframe or redirect");
  if (given(size) && !/^(auto|0[1-5])$/.test(size)) bad("challengeWindowSize must be auto or 01 to 05");
  if (given(container) && !(container instanceof Element)) bad("container must be an element");
  if (given(onEvent) && typeof onEvent != "function") bad("onEvent must be a function");
  return [url.href.replace(/\/+$/, ""), url.origin, display == "redirect", given(size) ? size : "auto",
    given(container) ? container : undefined, ms("methodTimeoutMs"), ms("challengeTimeoutMs"),
    given(onEvent) ? onEvent : undefined];
}

// A backend call, `/v1/payments/{id}{path}`: a JSON POST of `body` (a string or an object
// to stringify), or a GET when there is none; with `X-Client-Secret`, aborted by `signal`
// and by its own deadline. Resolves the JSON of a 2xx answer; rejects with the module's
// Error: timeout, aborted, network, bad_response, or the backend's `{error: {code, message}}`.
export async function backendCall(base, secret, path, body, signal, timeoutMs) {
  if (signal.aborted) throw bridgeError("aborted");
  const call = new AbortController(), abort = () => call.abort(), late = {};
  const fail = (code) => bridgeError(call.signal.reason == late ? "timeout" : signal.aborted ? "aborted" : code);
  if (body !== undefined && typeof body != "string") {
    try { body = JSON.stringify(body); } catch { throw bridgeError("invalid_options", "the payment request is not JSON"); }
  }
  signal.addEventListener("abort", abort);
  const timer = setTimeout(() => call.abort(late), timeoutMs);
  try {
    const headers = { "x-client-secret": secret };
    if (body) headers["content-type"] = "application/json";
    let response, text, json;
    try {
      response = await fetch(base + "/v1/payments/" + secret.slice(0, 32) + path,
        { method: body ? "POST" : "GET", headers, body, signal: call.signal });
      text = await response.text();
    } catch {
      throw fail("network");
    }
    try { json = JSON.parse(text); } catch { throw bridgeError("bad_response", "the backend did not answer JSON"); }
    if (response.status >= 200 && response.status < 300) return json;
    const { code, message } = (json && json.error) || {};
    if (typeof code == "string" && /^[a-z0-9_]{1,64}$/.test(code)) throw bridgeError(code, typeof message == "string" ? message : "");
    throw bridgeError("bad_response", "the backend refused without an error code");
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
  }
}

// A progress event to the page's `onEvent` (`{type, at, [key]: value}`); a throwing
// handler is the page's bug, not the payment's.
export function emitEvent(onEvent, type, key, value) {
  const event = { type, at: Date.now() };
  if (key) event[key] = value;
  try { onEvent(event); } catch {}
}

// The confirm the backend gets: the page's members plus what the module owns.
export function confirmBody(request, browser, display, windowSize) {
  return Object.assign({}, request, {
    browser, display, windowSize, checkoutOrigin: location.origin, returnUrl: location.href,
  });
}
