// threeds-bridge completion page script (served by the backend at /v1/complete.js).
// The issuer's or provider's step is over: tell the checkout page that framed this page,
// at exactly its origin, so it reads the payment from the backend. Only the session id
// and the nonce travel; the result never does. No dependencies, no inline script needed.
(function () {
  "use strict";
  var body = document.body;
  if (!body) return;
  var targetOrigin = body.getAttribute("data-target-origin");
  var sessionId = body.getAttribute("data-session-id");
  var nonce = body.getAttribute("data-nonce");
  if (!targetOrigin || !sessionId || !nonce) return;
  var receiver = window.parent && window.parent !== window ? window.parent : window.opener;
  if (!receiver) return;
  receiver.postMessage(
    { type: "threeds-bridge:complete", sessionId: sessionId, nonce: nonce },
    targetOrigin
  );
})();
