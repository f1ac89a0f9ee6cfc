// threeds-bridge completion page: tells the checkout page to read the result (docs/browser.md).
(function (body, win) {
  if (!body) return;
  var origin = body.getAttribute("data-target-origin"),
    id = body.getAttribute("data-session-id"),
    nonce = body.getAttribute("data-nonce"),
    to = win.parent && win.parent !== win ? win.parent : win.opener;
  if (origin && id && nonce && to)
    to.postMessage({ type: "threeds-bridge:complete", sessionId: id, nonce: nonce }, origin);
})(document.body, window);
