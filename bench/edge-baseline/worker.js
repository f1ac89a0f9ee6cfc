// make bench-edge's baseline: a plain-JavaScript worker of the one flow the benchmark
// times, a Paysafe frictionless payment, doing what the wasm worker does for it and
// nothing more: the same ThreedsSessions Durable Object (pkg/edge/sessions.js) with the
// same calls (create: create, then loadByOrder only if the order is taken; confirm: load,
// then six swaps: the claim, one before each of the four sandbox calls, the result), the
// same four sandbox calls with the same bodies, and one log line per request. It checks
// the merchant key, the client secret and the checkout origin, but validates little else:
// it is a yardstick, never a backend.
import { ThreedsSessions } from "./threeds-bridge/sessions.js";

export { ThreedsSessions };

const ttlMs = (config) => (config.session_ttl_seconds ?? 1800) * 1000;
const secret = (env, value) => (typeof value === "object" && value !== null ? env[value.env] : value);
const hex = (bytes) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const failed = (status, code) => json(status, { error: { code, message: code } });

function sessions(env) {
  const ns = env.THREEDS_SESSIONS;
  return ns.get(ns.idFromName("sessions"));
}

function view(s) {
  const { clientSecret, card, ...rest } = s;
  return rest;
}

async function create(request, env, config) {
  const keys = config.merchant_api_keys.map((k) => secret(env, k));
  const auth = request.headers.get("authorization") ?? "";
  if (!keys.some((key) => auth === `Bearer ${key}`)) return failed(401, "unauthorized");
  const body = await request.json();
  if (body.provider !== "paysafe") return failed(400, "baseline_paysafe_only");
  const store = sessions(env);
  const orderKey = `paysafe:${body.orderId}`;
  const id = hex(16);
  const now = Date.now();
  const session = {
    id, clientSecret: `${id}_secret_${hex(16)}`, provider: "paysafe", orderId: body.orderId,
    amount: body.amount, currency: body.currency, description: body.description ?? null, payer: body.payer,
    returnUrl: body.returnUrl, status: "requires_confirmation", state: "pending", checkoutOrigin: null,
    card: null, confirmAttempts: 0, createdAtMs: now, expiresAtMs: now + ttlMs(config), result: null, version: 1,
  };
  const made = await store.create(id, orderKey, 1, false, session.expiresAtMs, JSON.stringify(session), session.expiresAtMs);
  if (made !== "created") {
    await store.loadByOrder(orderKey); // the wasm worker reads the order's payment to answer a repeat
    return failed(409, "duplicate_order");
  }
  return json(201, session);
}

async function read(request, env, config, id) {
  const keys = config.merchant_api_keys.map((k) => secret(env, k));
  if (!keys.some((key) => request.headers.get("authorization") === `Bearer ${key}`)) return failed(401, "unauthorized");
  const text = await sessions(env).load(id);
  return text === null ? failed(404, "payment_not_found") : json(200, view(JSON.parse(text)));
}

/** Moves the session one version on (a swap); throws if someone moved it first. */
async function move(store, session, changes, wakeAtMs) {
  const next = { ...session, ...changes, version: session.version + 1 };
  const isFinal = next.state === "final";
  const ok = await store.swap(next.id, session.version, next.version, isFinal, next.expiresAtMs, JSON.stringify(next), isFinal ? null : wakeAtMs);
  if (!ok) throw new Error("session moved");
  return next;
}

async function paysafe(env, config, path, body) {
  const p = config.providers.paysafe;
  const answer = await fetch(`${p.base_url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Basic ${btoa(`${p.api_user}:${secret(env, p.api_password)}`)}` },
    body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`paysafe ${path}: ${answer.status}`);
  return answer.json();
}

async function confirm(request, env, config, id) {
  const origin = request.headers.get("origin");
  if (!config.checkout_origins.includes(origin)) return failed(403, "origin_not_allowed");
  const body = await request.json();
  const store = sessions(env);
  const text = await store.load(id);
  if (text === null) return failed(404, "payment_not_found");
  let s = JSON.parse(text);
  if (body.clientSecret !== s.clientSecret) return failed(404, "payment_not_found");
  if (s.status !== "requires_confirmation") return failed(409, "payment_not_confirmable");
  const pm = body.paymentMethod;
  const lease = () => Date.now() + config.calls.timeout_ms * config.calls.attempts;
  s = await move(store, s, { status: "processing", checkoutOrigin: origin, card: `${pm.number.slice(0, 6)}…${pm.number.slice(-4)}` }, lease());
  s = await move(store, s, { phase: "token" }, lease());
  const p = config.providers.paysafe;
  const token = await paysafe(env, config, "/customervault/v1/singleusetokens", {
    card: { cardNum: pm.number, cardExpiry: { month: pm.expiryMonth, year: pm.expiryYear }, cvv: pm.cvv, holderName: pm.holderName },
  });
  s = await move(store, s, { phase: "jwt", token: token.paymentToken }, lease());
  const card = { cardBin: token.card.cardBin, paymentToken: token.paymentToken };
  const jwt = await paysafe(env, config, "/threedsecure/v2/jwt", { accountId: p.account_id, card });
  s = await move(store, s, { phase: "authentication", fingerprint: jwt.deviceFingerprintingId }, lease());
  const b = body.browser;
  const auth = await paysafe(env, config, `/threedsecure/v2/accounts/${p.account_id}/authentications`, {
    merchantRefNum: crypto.randomUUID(), amount: s.amount, currency: s.currency,
    merchantUrl: `${config.public_url}/v1/returns/${id}`, card: { paymentToken: token.paymentToken },
    deviceFingerprintingId: jwt.deviceFingerprintingId, deviceChannel: "BROWSER", messageCategory: "PAYMENT",
    authenticationPurpose: "PAYMENT_TRANSACTION", requestorChallengePreference: "NO_PREFERENCE",
    browserDetails: {
      acceptHeader: request.headers.get("accept"), colorDepthBits: String(b.colorDepth),
      customerIp: request.headers.get("cf-connecting-ip") ?? "127.0.0.1", javascriptEnabled: b.javascriptEnabled,
      javaEnabled: b.javaEnabled, language: b.language, screenHeight: b.screenHeight, screenWidth: b.screenWidth,
      timezoneOffset: b.timeZone, userAgent: request.headers.get("user-agent"),
    },
  });
  if (auth.status !== "COMPLETED" || auth.threeDResult !== "Y") throw new Error("baseline: frictionless only");
  s = await move(store, s, { phase: "auth", eci: auth.eci }, lease());
  const charge = await paysafe(env, config, `/cardpayments/v1/accounts/${p.account_id}/auths`, {
    merchantRefNum: crypto.randomUUID(), amount: s.amount, settleWithAuth: true, card: { paymentToken: token.paymentToken },
    authentication: {
      eci: auth.eci, cavv: auth.cavv, threeDResult: auth.threeDResult, threeDSecureVersion: auth.threeDSecureVersion,
      directoryServerTransactionId: auth.directoryServerTransactionId,
    },
  });
  const result = {
    status: charge.status === "COMPLETED" ? "authorized" : "failed", providerPaymentId: charge.id,
    threeDsVersion: auth.threeDSecureVersion, transStatus: auth.threeDResult,
    eci: String(auth.eci).padStart(2, "0"), liabilityShift: true, error: null,
  };
  s = await move(store, s, { state: "final", status: result.status, result }, null);
  return json(200, { ...view(s), nonce: hex(16), next: { type: "none" } });
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    const config = env.THREEDS_BRIDGE_CONFIG;
    const { pathname } = new URL(request.url);
    const parts = pathname.split("/").filter(Boolean); // v1 payments {id} [confirm]
    let answer;
    if (parts[0] !== "v1" || parts[1] !== "payments") answer = failed(404, "not_found");
    else if (parts.length === 2 && request.method === "POST") answer = await create(request, env, config);
    else if (parts.length === 3 && request.method === "GET") answer = await read(request, env, config, parts[2]);
    else if (parts.length === 4 && parts[3] === "confirm" && request.method === "POST") answer = await confirm(request, env, config, parts[2]);
    else answer = failed(404, "not_found");
    console.log(JSON.stringify({ level: "INFO", message: "request", method: request.method, path: pathname, status: answer.status, duration_ms: Date.now() - started }));
    return answer;
  },
};
