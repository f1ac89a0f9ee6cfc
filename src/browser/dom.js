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
