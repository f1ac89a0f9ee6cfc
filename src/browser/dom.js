// The checkout-page module's JavaScript (bundled into the package's glue): the elements
// the Rust side asks for, from values that side has already checked (sizes from the EMV
// window size, field names and values set as attribute values, never markup); the backend
// call (fetch, JSON, its deadline); shape checks (the constructor's options, the backend's
// Payment view, form actions) and object shapes (results, events, the confirm, the
// browser details); the errors' English. Here because each is smaller written in
// JavaScript than in Rust and its wasm-bindgen glue (docs/browser.md, Size). The EMV rules
// stay in Rust. Listeners: only the backend call's own, removed before it settles; every
// other (the challenge host's own Escape key) is Rust's to remove (Drop), the waiting
// status's is progress(ui, "").

// Styles go through the CSSOM: a page CSP without 'unsafe-inline' blocks style attributes.
function el(doc, tag, attrs, parent) {
  const e = doc.createElement(tag);
  for (const k in attrs) k == "style" ? (e.style.cssText = attrs[k]) : e.setAttribute(k, attrs[k]);
  if (parent) parent.append(e);
  return e;
}

// The module's labels ("close|waiting"), by the primary subtag of the `locale` option or
// else of the page's <html lang>; English for any other language.
const LABELS = {
  en: "Cancel|Verifying your payment\u2026",
  fr: "Annuler|V\u00e9rification du paiement\u2026",
  de: "Abbrechen|Zahlung wird gepr\u00fcft\u2026",
  es: "Cancelar|Verificando el pago\u2026",
  pt: "Cancelar|Verificando o pagamento\u2026",
  it: "Annulla|Verifica del pagamento\u2026",
};
const label = (ui, i) =>
  (LABELS[String(ui?.l || document.documentElement.lang).slice(0, 2).toLowerCase()] || LABELS.en).split("|")[i];

// What the page's options say about the module's own UI: `locale`, `waitingStatus`
// (false turns the status off) and where the status goes (`container`, else the body).
export function ui(options) {
  return { l: options.locale, s: options.waitingStatus !== false, c: options.container };
}

// The theme: documented custom properties (--tdsb-fg, --tdsb-bar-bg, --tdsb-bg).
const INK = "border:0;color:var(--tdsb-fg,#000);background:var(--tdsb-bar-bg,#eee);";

// The waiting status (role=status, aria-live=polite): shown while the 3DS Method and the
// backend work, emptied while the challenge shows, gone when the payment ends (`type` "").
export function progress(ui, type) {
  const on = /^(au|me|challenge-c)/.test(type);
  if (ui?.s && on && !ui.e)
    ui.e = el(document, "p", {
      role: "status", "aria-live": "polite", class: "threeds-bridge-status",
      style: INK + "padding:8px;" + (ui.c ? "" : "position:fixed;bottom:0;left:0;right:0;margin:0"),
    }, ui.c || document.body);
  if (!ui?.e) return;
  ui.e.textContent = on ? label(ui, 1) : "";
  ui.e.hidden = !on;
  if (!on && type != "challenge-shown") ui.e = ui.e.remove();
}

// The challenge's host: a bar with the close control above the iframe (`name`), never over
// the issuer's page; a wrapper in `container`, or else a modal <dialog> (full viewport
// when `width` is 0, or the issuer's size is wider than the page). Never wider than its box. Escape on the host presses the close
// control (keys inside the issuer's cross-origin page never reach this page). Returns the host.
export function mountChallenge(doc, name, width, height, container, ui) {
  const full = !width || !container && width > doc.documentElement.clientWidth, box = "display:flex;flex-direction:column;padding:0;border:0;max-width:100%;"
    + "background:var(--tdsb-bg,#fff);";
  const host = container
    ? el(doc, "div", { class: "threeds-bridge-challenge", style: box + "width:fit-content" })
    : el(doc, "dialog", {
      class: "threeds-bridge-dialog", "aria-label": "3-D Secure",
      style: box + (full ? "margin:0;width:100%;height:100%;max-height:none" : ""),
    });
  const close = el(doc, "button", { type: "button", class: "threeds-bridge-close", style: INK + "padding:8px" },
    el(doc, "div", { style: INK + "text-align:end" }, host));
  close.textContent = label(ui, 0) + " \u00d7";
  host.onkeydown = (e) => e.key == "Escape" && close.click();
  el(doc, "iframe", {
    name, title: "3-D Secure",
    style: "border:0;max-width:100%;" + (full ? "flex:1" : `flex:none;width:${width}px;height:${height}px`),
    sandbox: "allow-forms allow-scripts allow-same-origin allow-popups",
  }, host);
  (container || doc.body).append(host);
  // A browser without <dialog> (or a refused showModal) must not leave the box behind.
  try { container || host.showModal(); } catch (e) { host.remove(); throw e; }
  return host;
}

// The Method's hidden iframe (`name`), in the body: the issuer's page may run scripts,
// post its form and keep its origin (its cookies; the completion page's message), nothing
// more (no navigating this page, no windows, no dialogs).
export function methodFrame(doc, name) {
  return el(doc, "iframe", {
    name, title: "3-D Secure device check", "aria-hidden": "true", tabindex: "-1",
    style: "position:absolute;width:0;height:0;border:0;visibility:hidden",
    sandbox: "allow-forms allow-scripts allow-same-origin",
  }, doc.body);
}

// Sends a form ([name, value, name, value, …] `fields`) to `action`, only an absolute
// http(s) URL (javascript:, data: or a relative path the backend did not mean throws
// bad_response): in the window `target` (an iframe `frame` by its name, or the page itself
// when `frame` is null). A POST builds a <form> of hidden inputs set as attribute values,
// never markup, which leaves the page right after submit(). A GET navigates to the action
// with the fields added to its own query (a GET form would replace the query instead).
export function submitForm(doc, action, get, target, frame, fields) {
  let url;
  try { url = new URL(action); } catch {}
  if (!url || !/^https?:$/.test(url.protocol)) throw bridgeError("bad_response");
  if (get) {
    for (let i = 0; i < fields.length; i += 2) url.searchParams.append(fields[i], fields[i + 1]);
    return frame ? frame.setAttribute("src", url.href) : location.assign(url.href);
  }
  const form = el(doc, "form", { method: "post", target, action: url.href }, doc.body);
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

// Whether Back or Forward loaded the page of `w`.
export function cameBack(w) {
  return w.performance?.getEntriesByType?.("navigation")[0]?.type == "back_forward";
}

// A `pageshow` listener calling `then` only for a return from the back/forward cache.
export function onRestore(then) {
  return (event) => { if (event.persisted) then(); };
}

// The final result as the page gets it: the backend's `result` with the payment's id,
// amount, currency and order id from its view (values the Rust side read as one payment's).
export function describePayment(result, view) {
  result.paymentId = view.id;
  result.amount = view.amount;
  result.currency = view.currency;
  result.orderId = view.orderId;
}

// The result of a payment the page gave up on while the backend could not say what became
// of it (its cancel answered nothing, or a payment still being confirmed).
export function cancelledResult(paymentId) {
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
  timeout: "no answer in time",
  aborted: "aborted",
  bad_response: "the backend's answer is not its documented shape",
  invalid_options: "unusable options or payment request",
  busy: "a payment is already running",
  unsupported: "not supported in this page",
  pending: "the payment is being confirmed",
};
export function bridgeError(code, message) {
  return Object.assign(new Error(message || MESSAGES[code] || "the browser details break EMV rules"), { code });
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
// (when given) and by its own deadline. Resolves the JSON of a 2xx answer (or the payment a
// refusal carries: a cancel's 409); rejects with the module's
// Error: timeout, aborted, network, bad_response, or the backend's `{error: {code, message}}`.
export async function backendCall(base, secret, path, body, signal, timeoutMs) {
  if (signal?.aborted) throw bridgeError("aborted");
  const call = new AbortController(), abort = () => call.abort(), late = {};
  const fail = (code) => bridgeError(call.signal.reason == late ? "timeout" : signal?.aborted ? "aborted" : code);
  if (body !== undefined && typeof body != "string") {
    try { body = JSON.stringify(body); } catch { throw bridgeError("invalid_options"); }
  }
  signal?.addEventListener("abort", abort);
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
    try { json = JSON.parse(text); } catch { throw bridgeError("bad_response"); }
    // A refusal that carries the payment (a cancel's 409) answers it.
    if (response.ok || json?.payment) return json?.payment || json;
    const { code, message } = (json && json.error) || {};
    if (typeof code == "string" && /^[a-z0-9_]{1,64}$/.test(code)) throw bridgeError(code, typeof message == "string" ? message : "");
    throw bridgeError("bad_response");
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
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

// The payment in flight, in sessionStorage under `key` (`resume()` finishes it after a
// redirect or a reload): saved as {secret, nonce, backend, savedAt}; read back as
// [secret, nonce, backend] when well-formed and under `maxAgeMs` old (a stale one is
// removed). Quietly nothing where the page may not use storage (some private modes).
export function saveState(key, secret, nonce, backend) {
  try { sessionStorage.setItem(key, JSON.stringify({ secret, nonce, backend, savedAt: Date.now() })); } catch {}
}
export function loadState(key, maxAgeMs) {
  try {
    const { secret, nonce, backend, savedAt } = JSON.parse(sessionStorage.getItem(key));
    const age = typeof savedAt == "number" ? Date.now() - savedAt : NaN;
    if (age != age) return;
    if (!(age >= 0 && age <= maxAgeMs)) return void sessionStorage.removeItem(key);
    if ([secret, nonce, backend].every((v) => typeof v == "string")) return [secret, nonce, backend];
  } catch {}
}
export function clearState(key) {
  try { sessionStorage.removeItem(key); } catch {}
}

// A `message` listener that calls `onComplete` for a genuine completion only: from
// `origin` exactly, sent by `frame`'s own window (while it is in the page), naming the
// session `id` with its `nonce` (messages.rs says why all three).
export function completionListener(origin, frame, id, nonce, onComplete) {
  return ({ origin: from, source, data }) => {
    const own = frame.contentWindow;
    if (from === origin && own && source === own && data && typeof data == "object" &&
      data.type === "threeds-bridge:complete" && data.sessionId === id && data.nonce === nonce) onComplete();
  };
}

// A promise and its resolve, for Race.
export function race() {
  let resolve;
  return [new Promise((settle) => (resolve = settle)), resolve];
}

// `options.signal` when it is an AbortSignal.
export function signalOf(options) {
  const signal = options && options.signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

// The backend's Payment view (api.md), its shape checked (throws bad_response, or
// pending when the backend is still confirming the payment with the provider and the
// browser has nothing to do): [id (lowercase), nonce, "final", status, result] or
// [id, nonce, next.type, action, "GET"|"POST", timeoutMs (method) | windowSize
// (challenge), name, value, name, value, …]. The EMV window size and the Method's
// deadline are checked in Rust.
export function readView(view) {
  const bad = () => { throw bridgeError("bad_response"); };
  const text = (v) => (typeof v == "string" ? v : bad());
  const { id, nonce, state, result, next } = view || bad();
  if (!/^[0-9a-f]{32}$/i.test(text(id)) || !text(nonce)) bad();
  const head = [id.toLowerCase(), nonce];
  if (state == "final") {
    if (!result || typeof result != "object" ||
      !/^(authorized|declined|failed|cancelled|error)$/.test(text(result.status))) bad();
    return head.concat("final", result.status, result);
  }
  if (state != "pending") bad();
  const { type, form, timeoutMs: ms, windowSize } = next || bad();
  if (type == "none") throw bridgeError("pending");
  if (!/^(method|challenge|redirect)$/.test(text(type))) bad();
  const { action, method, fields } = form || bad();
  if (!/^(GET|POST)$/.test(text(method)) || !Array.isArray(fields)) bad();
  head.push(type, text(action), method, type == "method" ? ms : windowSize);
  for (const field of fields) {
    const { name, value } = field || bad();
    if (!text(name)) bad();
    head.push(name, text(value));
  }
  return head;
}

// What only the page can read for the EMV browser details, as JavaScript gives it:
// [screen width, height, colour depth, timezone offset, language, javaEnabled(), userAgent]
// (javaEnabled is gone or a stub that throws in some browsers: undefined then).
export function readPage(w) {
  const n = w.navigator, s = w.screen;
  let java;
  try { java = n.javaEnabled(); } catch {}
  return [s?.width, s?.height, s?.colorDepth, new Date().getTimezoneOffset(), n?.language, java, n?.userAgent];
}

// The backend's `browser` member (api.md), from the EMV-ruled details.
export function browserDetails(acceptHeader, javaEnabled, language, colorDepth, screenHeight, screenWidth, timeZone, userAgent) {
  return { acceptHeader, javaEnabled, javascriptEnabled: true, language, colorDepth, screenHeight, screenWidth, timeZone, userAgent };
}
