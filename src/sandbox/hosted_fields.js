// The sandbox's stand-in for a provider's hosted card fields. The card goes from these
// inputs straight to the provider's tokenization endpoint on this origin; the checkout
// page (data-parent, checked on every message) gets back only the token.
const body = document.body;
const { provider, parent, key, terminal } = body.dataset;
const $ = (id) => document.getElementById(id);
const pad2 = (n) => String(n).padStart(2, "0");

function card() {
  return {
    number: $("card-number").value.replace(/\s+/g, ""),
    month: Number.parseInt($("expiry-month").value, 10),
    year: Number.parseInt($("expiry-year").value, 10),
    cvv: $("cvv").value,
    name: $("holder-name").value,
  };
}

/** Each provider's tokenization call, as its own library makes it. */
const CALLS = {
  dlocal: (c) => ({
    url: "/dlocal/smart-fields/tokens",
    headers: { "x-public-key": key },
    body: { name: c.name, pan: c.number, expirationMonth: c.month, expirationYear: c.year, cvv: c.cvv, country: "BR" },
    token: (answer) => answer.token,
  }),
  paysafe: (c) => ({
    url: "/paysafe/customervault/v1/singleusetokens",
    headers: { authorization: `Basic ${key}` },
    body: { card: { cardNum: c.number, cardExpiry: { month: c.month, year: c.year }, cvv: c.cvv, holderName: c.name } },
    token: (answer) => answer.paymentToken,
    // Paysafe's 3-D Secure takes the card's BIN, which its token answer tells.
    bin: (answer) => answer.card?.cardBin,
  }),
  bambora: (c) => ({
    url: "/bambora/scripts/tokenization/tokens",
    headers: {},
    body: { number: c.number, expiry_month: pad2(c.month), expiry_year: pad2(c.year % 100), cvd: c.cvv },
    token: (answer) => (answer.code === "1" ? answer.token : undefined),
  }),
  payroc: (c) => ({
    url: `/payroc/api/v1/processing-terminals/${terminal}/single-use-tokens`,
    headers: { authorization: `Bearer ${key}`, "idempotency-key": crypto.randomUUID() },
    body: {
      channel: "web",
      source: {
        type: "card",
        cardDetails: {
          entryMethod: "keyed",
          cardholderName: c.name,
          keyedData: { dataFormat: "plainText", cardNumber: c.number, expiryDate: pad2(c.month) + pad2(c.year % 100), cvv: c.cvv },
        },
      },
    },
    token: (answer) => answer.token,
  }),
};

/** The provider's words for a refusal, without echoing anything typed. */
function refusal(answer, status) {
  const message = answer?.error?.message ?? answer?.message ?? answer?.detail ?? answer?.title;
  return typeof message === "string" && message !== "" ? message : `tokenization refused (${status})`;
}

async function tokenize() {
  const call = CALLS[provider](card());
  const response = await fetch(call.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...call.headers },
    body: JSON.stringify(call.body),
  });
  const answer = await response.json().catch(() => ({}));
  const token = response.ok ? call.token(answer) : undefined;
  const bin = response.ok ? call.bin?.(answer) : undefined;
  if (typeof token === "string" && token !== "") {
    return typeof bin === "string" ? { type: "token", token, bin } : { type: "token", token };
  }
  return { type: "error", message: refusal(answer, response.status) };
}

window.addEventListener("message", async (event) => {
  if (event.origin !== parent || event.source !== window.parent) return;
  if (event.data?.type !== "tokenize") return;
  const reply = await tokenize().catch(() => ({ type: "error", message: "the provider could not be reached" }));
  window.parent.postMessage(reply, parent);
});
window.parent.postMessage({ type: "ready" }, parent);
