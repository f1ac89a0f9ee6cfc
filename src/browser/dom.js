// The checkout-page module's JavaScript (bundled into the package's glue): the elements
// the Rust side asks for, from values that side has already checked (sizes from the EMV
// window size, http(s) form actions, field names and values set as attribute values,
// never markup); the backend `fetch`; two result shapes. Here because each is smaller
// written in JavaScript than built from Rust member by member (docs/browser.md, Size).
// No payment decisions here, and no listeners but the challenge host's own Escape key;
// removal is Rust's (Drop), the waiting status's is progress(ui, "").

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

// A backend call: the global `fetch` with the payment's client secret, a JSON POST of
// `body`, or a GET when there is none.
export function backendFetch(url, secret, body, signal) {
  const headers = { "x-client-secret": secret };
  if (body) headers["content-type"] = "application/json";
  return fetch(url, { method: body ? "POST" : "GET", headers, body, signal });
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
