// The example worker (examples/edge-worker) in miniflare — the real workerd — against the
// native sandbox on 127.0.0.1, the test acting as the merchant's server (creates with its
// API key), the checkout page (confirms with the payment's client secret) and the
// cardholder's browser. For every provider: a frictionless payment, and a challenge
// payment whose worker is restarted between confirm and return (so the session can only
// have come from the Durable Object), whose return is then delivered twice at once and
// replayed later, and, for dLocal, a replayed notification: the sandbox ledger shows one
// charge each time. Then who may do what (contract.md, "Who may create a payment"): no
// create without the key, no confirm or read without the secret, no amount from the page,
// and no more than max_confirm_attempts refused confirms per payment. (A configuration that
// does not build and a Durable Object that cannot answer: setup.test.mjs; a provider
// that hangs: reconcile.test.mjs.)
// Run by `make test-edge` (it builds pkg/edge and the native binary first).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { LOCAL_MERCHANT_KEY, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import {
  CHECKOUT, api, confirmBody, createBody, driveToEnd, freePort, land, ledger, startSandbox,
} from "./support.mjs";

const PROVIDERS = ["payroc", "dlocal", "paysafe", "bambora"];
const FRICTIONLESS = "4000000000001000";
const CHALLENGE = "4000000000002008";
/** Luhn-invalid: the backend refuses it before any provider call. */
const BAD_PAN = "4000000000001001";
/** The merchant's server's key (the worker's MERCHANT_API_KEY secret). */
const KEY = LOCAL_MERCHANT_KEY;

let sandbox;
let worker;
let port;
let workerUrl;
let persistDir;
let config;
/** Everything the workers printed (the core's log lines). */
let logs = "";
/** Every client secret the worker handed out (none may reach the logs). */
const clientSecrets = new Set();

async function start() {
  worker = await startWorker({ port, config, persistDir, onLog: (text) => { logs += text; } });
  assert.equal(worker.url, workerUrl);
}

/** Stops the worker and starts a new one on the same port and storage: a new isolate. */
async function restart() {
  await worker.mf.dispose();
  await start();
}

before(async () => {
  port = await freePort();
  workerUrl = `http://127.0.0.1:${port}`;
  sandbox = await startSandbox(workerUrl);
  persistDir = mkdtempSync(join(tmpdir(), "threeds-edge-"));
  config = sandboxConfig({
    publicUrl: workerUrl,
    sandboxUrl: sandbox.url,
    checkoutOrigins: [CHECKOUT],
    calls: { timeout_ms: 5000, attempts: 3, backoff_ms: 50 },
  });
  await start();
});

after(async () => {
  await worker?.mf.dispose();
  await sandbox?.stop();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

/** The ledger entries added since `before` (payments run one after another). */
async function chargesSince(before) {
  return (await ledger(sandbox.url)).slice(before);
}

/** The merchant's server creates a payment: its 201 view (with the client secret). */
async function create(provider, options) {
  const created = await api.create(workerUrl, createBody(provider, options), KEY);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  clientSecrets.add(created.body.clientSecret);
  return created.body;
}

/** The merchant's full view of a payment, read with its key. */
async function merchantRead(id) {
  const read = await api.read(workerUrl, id, KEY);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  return read.body;
}

/** A created payment nobody has confirmed: no card, no origin, no attempt counted. */
function assertUntouched(read, created, attempts = 0) {
  assert.equal(read.status, "requires_confirmation", JSON.stringify(read));
  assert.equal(read.state, "pending");
  assert.equal(read.amount, created.amount);
  assert.equal(read.currency, created.currency);
  assert.equal(read.checkoutOrigin, null);
  assert.equal(read.card, null);
  assert.equal(read.result, null);
  assert.equal(read.confirmAttempts, attempts);
}

/**
 * Drives a confirmed payment to its final view, reading it as the page does (with
 * `clientSecret`). `onBrowserStep(view)` runs before the browser leaves for the issuer or
 * provider; `deliver(form)` lands the return.
 */
/** Drives a confirmed payment to its end as the page and the browser would (support.mjs). */
const drive = (view, clientSecret, options) => driveToEnd(workerUrl, view, clientSecret, options);

/**
 * A return's answer: the completion page for an ACS's challenge in iframe display; a 303 back
 * to the checkout otherwise, and always from Payroc's MPI and dLocal's page, which are the
 * whole page in any display.
 */
function assertLanded(landing, display, body, provider) {
  if (display === "iframe" && !["payroc", "dlocal"].includes(provider)) {
    assert.equal(landing.status, 200, landing.body);
    assert.match(landing.body, /<script src="[^"]*\/v1\/complete\.js"><\/script>/);
    assert.ok(landing.body.includes(`data-target-origin="${CHECKOUT}"`), landing.body);
    assert.ok(!landing.body.includes("<script>"), "no inline script");
  } else {
    assert.equal(landing.status, 303, landing.body);
    assert.equal(landing.location, body.returnUrl);
  }
}

function assertOneCharge(charges, view) {
  assert.equal(charges.length, 1, `one charge: ${JSON.stringify(charges)}`);
  assert.equal(charges[0].provider_payment_id, view.result.providerPaymentId);
}

describe("the edge worker, against the sandbox", () => {
  for (const provider of PROVIDERS) {
    test(`${provider}: created twice and confirmed twice at once, a frictionless payment is authorized once`, async () => {
      const before = (await ledger(sandbox.url)).length;
      const body = createBody(provider);
      // The merchant's server retries its create while the first is under way: one payment.
      const creates = await Promise.all([api.create(workerUrl, body, KEY), api.create(workerUrl, body, KEY)]);
      assert.deepEqual(creates.map((a) => a.status).sort(), [200, 201], JSON.stringify(creates.map((a) => a.body)));
      const created = creates.find((a) => a.status === 201).body;
      clientSecrets.add(created.clientSecret);
      assert.match(created.id, /^[0-9a-f]{32}$/);
      assert.match(created.clientSecret, new RegExp(`^${created.id}_secret_[0-9a-f]{32}$`));
      assert.equal(created.status, "requires_confirmation");
      for (const answer of creates) {
        assert.equal(answer.body.id, created.id);
        assert.equal(answer.body.clientSecret, created.clientSecret);
      }
      // A double click on the page: two confirms at once start one flow.
      const confirm = confirmBody(created.clientSecret, FRICTIONLESS, "iframe");
      const both = await Promise.all([
        api.confirm(workerUrl, created.id, confirm),
        api.confirm(workerUrl, created.id, confirm),
      ]);
      assert.deepEqual(both.map((a) => a.status), [200, 200], JSON.stringify(both.map((a) => a.body)));
      assert.equal(both[0].body.id, created.id);
      assert.equal(both[1].body.id, created.id);
      assert.equal(both[0].body.clientSecret, undefined, "the page's view does not repeat the secret");

      const { view, landings } = await drive(both[0].body, created.clientSecret);
      assert.equal(view.result.status, "authorized", JSON.stringify(view));
      assert.equal(view.result.eci, "05");
      for (const landing of landings) assertLanded(landing.answers, "iframe", body, provider);
      assertOneCharge(await chargesSince(before), view);
      // What the merchant's server reads before it fulfils the order.
      const read = await merchantRead(created.id);
      assert.equal(read.status, "authorized");
      assert.equal(read.amount, body.amount);
      assert.equal(read.orderId, body.orderId);
      assert.equal(read.checkoutOrigin, CHECKOUT);
    });

    test(`${provider}: a challenge survives a worker restart, and a doubled or replayed return charges once`, async () => {
      const display = provider === "dlocal" ? "redirect" : "iframe";
      const before = (await ledger(sandbox.url)).length;
      const body = createBody(provider);
      // A return URL beyond ASCII comes back percent-encoded: a Location header cannot
      // carry a "€" (the Headers of workerd refuse it).
      const landed = { ...body, returnUrl: `${CHECKOUT}/checkout?step=resume&note=re%C3%A7u%E2%82%AC` };
      if (display === "redirect") body.returnUrl = `${CHECKOUT}/checkout?step=resume&note=re\u00e7u\u20ac`;
      const created = await api.create(workerUrl, body, KEY);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id, clientSecret } = created.body;
      clientSecrets.add(clientSecret);
      const started = await api.confirm(workerUrl, id, confirmBody(clientSecret, CHALLENGE, display));
      assert.equal(started.status, 200, JSON.stringify(started.body));
      let restarted = 0;
      const { view, landings } = await drive(started.body, clientSecret, {
        // The isolate that started the payment is gone before the browser comes back.
        onBrowserStep: async () => {
          await restart();
          restarted += 1;
        },
        // The browser's return arrives twice at once (a double submit, a retried POST).
        deliver: async (form) => {
          const [first, second] = await Promise.all([land(form), land(form)]);
          assert.ok([200, 303].includes(second.status), `the second delivery is answered: ${second.status} ${second.body}`);
          return first;
        },
      });
      assert.ok(restarted >= 1, "the worker was restarted before the return");
      assert.equal(view.result.status, "authorized", JSON.stringify(view));
      // Payroc's MPI sends the iframe-display payment back too, to the returnUrl it kept.
      const back = display === "redirect" ? landed : body;
      for (const landing of landings) assertLanded(landing.answers, display, back, provider);
      assertOneCharge(await chargesSince(before), view);

      // Replayed later, by a fresh isolate: the same answer, nothing changes.
      await restart();
      const last = landings.at(-1);
      const replay = await land(last.form);
      assert.equal(replay.status, last.answers.status, replay.body);
      const reread = await api.view(workerUrl, view.id, clientSecret);
      assert.deepEqual(reread.body, view);
      assertOneCharge(await chargesSince(before), view);

      if (provider === "dlocal") {
        // dLocal's notification for the payment, delivered again (signed as dLocal signs).
        const notification = JSON.stringify({
          id: view.result.providerPaymentId,
          amount: body.amount / 100,
          currency: body.currency,
          status: "PAID",
          order_id: body.orderId,
        });
        const accepted = await notify(notification, "sandbox-dlocal-secret");
        assert.equal(accepted.status, 200, await accepted.text());
        const forged = await notify(notification, "not-the-secret");
        assert.equal(forged.status, 401);
        assert.equal((await forged.json()).error.code, "bad_signature");
        assert.deepEqual((await api.view(workerUrl, view.id, clientSecret)).body, view);
        assertOneCharge(await chargesSince(before), view);
      }
    });
  }

  test("bambora: a manual payment is captured in part, refunded in part and then the rest, the ledger balanced at each step", async () => {
    const body = { ...createBody("bambora"), captureMode: "manual" };
    const created = await api.create(workerUrl, body, KEY);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, clientSecret } = created.body;
    clientSecrets.add(clientSecret);
    const started = await api.confirm(workerUrl, id, confirmBody(clientSecret, FRICTIONLESS, "iframe"));
    const { view } = await drive(started.body, clientSecret);
    assert.equal(view.result.status, "authorized", JSON.stringify(view));
    const providerId = view.result.providerPaymentId;
    const operate = async (what, key, payload) => {
      const answer = await fetch(`${workerUrl}/v1/payments/${id}/${what}`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "idempotency-key": key, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      return { status: answer.status, body: await answer.json() };
    };
    const balance = async () => {
      const answer = await (await fetch(`${sandbox.url}/_sandbox/ledger`)).json();
      return answer.balances.find((b) => b.provider === "bambora" && b.provider_payment_id === providerId);
    };
    assert.equal((await balance()).captured, 0, "a pre-authorization: nothing captured");

    const capture = await operate("capture", "cap", { amount: 600 });
    assert.equal(capture.status, 200, JSON.stringify(capture.body));
    assert.equal(capture.body.status, "succeeded", JSON.stringify(capture.body));
    assert.equal(capture.body.money.captured, 600);
    assert.equal((await balance()).captured, 600);
    const replay = await operate("capture", "cap", { amount: 600 });
    assert.equal(replay.body.id, capture.body.id, "the same key answers the same capture");

    const part = await operate("refunds", "ref-1", { amount: 200 });
    assert.equal(part.body.status, "succeeded", JSON.stringify(part.body));
    assert.equal((await balance()).refunded, 200);
    const rest = await operate("refunds", "ref-2", {});
    assert.equal(rest.body.amount, 400, JSON.stringify(rest.body));
    assert.equal((await balance()).refunded, 600);
    const tooMuch = await operate("refunds", "ref-3", { amount: 1 });
    assert.equal(tooMuch.status, 409);
    assert.equal(tooMuch.body.error.code, "amount_too_large");

    const read = await merchantRead(id);
    assert.equal(read.captureMode, "manual");
    assert.deepEqual(read.money, { authorized: 1099, captured: 600, refunded: 600, voided: 0 });
    assert.deepEqual(read.operations.map((o) => o.kind), ["capture", "refund", "refund"]);
    const movements = (await (await fetch(`${sandbox.url}/_sandbox/ledger`)).json()).movements
      .filter((m) => m.provider_payment_id === providerId);
    assert.equal(movements.length, 3, "one movement per operation, none for the replay");
  });

  test("without the merchant's key a create is a 401 and creates nothing", async () => {
    const before = (await ledger(sandbox.url)).length;
    const body = createBody("paysafe");
    // A page (or anyone) without the key: no Authorization at all.
    const keyless = await fetch(`${workerUrl}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: CHECKOUT },
      body: JSON.stringify(body),
    });
    assert.equal(keyless.status, 401);
    assert.equal((await keyless.json()).error.code, "missing_api_key");
    const wrong = await api.create(workerUrl, body, `${KEY}-but-not-quite`);
    assert.equal(wrong.status, 401, JSON.stringify(wrong.body));
    assert.equal(wrong.body.error.code, "invalid_api_key");
    // Nothing was created: the merchant's own create of this order is the first (201, not
    // the 200 of a repeat), with the same amount it would have had.
    const created = await api.create(workerUrl, body, KEY);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    clientSecrets.add(created.body.clientSecret);
    assertUntouched(await merchantRead(created.body.id), body);
    assert.equal((await chargesSince(before)).length, 0);
    // And no page can send a key cross-origin: the preflight does not allow Authorization.
    const preflight = await fetch(`${workerUrl}/v1/payments`, {
      method: "OPTIONS",
      headers: { origin: CHECKOUT, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    assert.equal(preflight.status, 204);
    assert.doesNotMatch(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/i);
  });

  test("a wrong client secret, on confirm and on read, is a 401 and leaves the payment as it was", async () => {
    const before = (await ledger(sandbox.url)).length;
    const payment = await create("paysafe");
    const other = await create("paysafe");
    const wrongSecrets = [
      `${payment.id}_secret_${"0".repeat(32)}`, // the right shape, a guessed random part
      other.clientSecret, // another payment's secret
      payment.clientSecret.slice(0, -1), // one character short
      `${payment.clientSecret}0`, // one character long
    ];
    // More wrong secrets than max_confirm_attempts (3): a guesser cannot use up the payment.
    for (const secret of wrongSecrets) {
      const confirm = await api.confirm(workerUrl, payment.id, confirmBody(secret, FRICTIONLESS, "iframe"));
      assert.equal(confirm.status, 401, JSON.stringify(confirm.body));
      assert.equal(confirm.body.error.code, "invalid_client_secret");
      const read = await api.view(workerUrl, payment.id, secret);
      assert.equal(read.status, 401, JSON.stringify(read.body));
      assert.equal(read.body.error.code, "invalid_client_secret");
    }
    const { clientSecret: _, ...withoutSecret } = confirmBody(payment.clientSecret, FRICTIONLESS, "iframe");
    const missing = await api.confirm(workerUrl, payment.id, withoutSecret);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.code, "missing_client_secret");
    const anonymous = await api.read(workerUrl, payment.id, null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, "missing_credentials");
    // Unchanged: not confirmed, no attempt counted, nothing charged.
    assertUntouched(await merchantRead(payment.id), payment);
    assertUntouched(await merchantRead(other.id), other);
    assert.equal((await chargesSince(before)).length, 0);
    // The page with the right secret still pays it.
    const confirmed = await api.confirm(workerUrl, payment.id, confirmBody(payment.clientSecret, FRICTIONLESS, "iframe"));
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const { view } = await drive(confirmed.body, payment.clientSecret);
    assert.equal(view.result.status, "authorized", JSON.stringify(view));
    assertOneCharge(await chargesSince(before), view);
  });

  test("an amount (or any merchant-only field) from the page is a 400 field_not_allowed; the charge is the merchant's amount", async () => {
    const before = (await ledger(sandbox.url)).length;
    const payment = await create("paysafe", { amount: 4321 });
    const tampered = await api.confirm(workerUrl, payment.id, confirmBody(payment.clientSecret, FRICTIONLESS, "iframe", { amount: 1 }));
    assert.equal(tampered.status, 400, JSON.stringify(tampered.body));
    assert.equal(tampered.body.error.code, "field_not_allowed");
    assert.match(tampered.body.error.message, /\bamount\b/);
    const others = {
      currency: "EUR", orderId: "order-of-the-page", provider: "bambora", description: "free",
      payer: { name: "Someone Else" }, challengePreference: "no_preference",
      externalAuthentication: { version: "2.2.0", transStatus: "Y", eci: "05", cavv: "AAAA" },
    };
    for (const [field, value] of Object.entries(others)) {
      const answer = await api.confirm(workerUrl, payment.id, confirmBody(payment.clientSecret, FRICTIONLESS, "iframe", { [field]: value }));
      assert.equal(answer.status, 400, `${field}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, "field_not_allowed");
      assert.ok(answer.body.error.message.startsWith(`${field} `), answer.body.error.message);
    }
    const read = await merchantRead(payment.id);
    assert.equal(read.status, "requires_confirmation", JSON.stringify(read));
    assert.equal(read.amount, 4321);
    assert.equal(read.currency, "USD");
    assert.equal(read.orderId, payment.orderId);
    assert.equal(read.provider, "paysafe");
    assert.equal((await chargesSince(before)).length, 0);

    const confirmed = await api.confirm(workerUrl, payment.id, confirmBody(payment.clientSecret, FRICTIONLESS, "iframe"));
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const { view } = await drive(confirmed.body, payment.clientSecret);
    assert.equal(view.result.status, "authorized", JSON.stringify(view));
    assert.equal(view.amount, 4321);
    const charges = await chargesSince(before);
    assertOneCharge(charges, view);
    assert.equal(charges[0].amount, 4321, JSON.stringify(charges[0]));
    assert.equal(charges[0].currency, "USD");
  });

  test("cancel at the edge: the merchant's and the page's cancel end a payment cancelled at once; a cancelled payment is never confirmed", async () => {
    const before = (await ledger(sandbox.url)).length;
    const cancel = (id, init) => fetch(`${workerUrl}/v1/payments/${id}/cancel`, { method: "POST", ...init }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const byMerchant = await create("paysafe");
    const cancelled = await cancel(byMerchant.id, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.result.error.code, "cancelled_by_merchant");
    const late = await api.confirm(workerUrl, byMerchant.id, confirmBody(byMerchant.clientSecret, FRICTIONLESS, "iframe"));
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.body.status, "cancelled", "the confirm sent nothing");
    const byPage = await create("paysafe");
    const page = await cancel(byPage.id, {
      headers: { "content-type": "application/json", origin: CHECKOUT },
      body: JSON.stringify({ clientSecret: byPage.clientSecret }),
    });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.equal(page.body.result.error.code, "cancelled_by_shopper");
    assert.equal((await merchantRead(byPage.id)).status, "cancelled");
    assert.equal((await chargesSince(before)).length, 0);
  });

  test("the fourth refused confirm of a payment is a 429 too_many_attempts, in any isolate", async () => {
    const before = (await ledger(sandbox.url)).length;
    const payment = await create("paysafe");
    const good = confirmBody(payment.clientSecret, FRICTIONLESS, "iframe");
    const { screenWidth: _, ...noScreen } = good.browser;
    // Refused before any provider call, each counted against max_confirm_attempts (3).
    const refused = [
      [confirmBody(payment.clientSecret, BAD_PAN, "iframe"), "invalid_request"],
      [{ ...good, browser: noScreen }, "invalid_browser_details"],
      [confirmBody(payment.clientSecret, BAD_PAN, "iframe"), "invalid_request"],
    ];
    for (const [body, code] of refused) {
      const answer = await api.confirm(workerUrl, payment.id, body);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, code, JSON.stringify(answer.body));
      assert.ok(!JSON.stringify(answer.body).includes(BAD_PAN), "the answer does not echo the card number");
    }
    assert.equal((await merchantRead(payment.id)).confirmAttempts, 3);
    const fourth = await api.confirm(workerUrl, payment.id, confirmBody(payment.clientSecret, BAD_PAN, "iframe"));
    assert.equal(fourth.status, 429, JSON.stringify(fourth.body));
    assert.equal(fourth.body.error.code, "too_many_attempts");
    // Even a good confirm is refused now, and by a fresh isolate too: the count is the
    // payment's, in the Durable Object, not an isolate's.
    const goodAfter = await api.confirm(workerUrl, payment.id, good);
    assert.equal(goodAfter.status, 429, JSON.stringify(goodAfter.body));
    await restart();
    const inNewIsolate = await api.confirm(workerUrl, payment.id, good);
    assert.equal(inNewIsolate.status, 429, JSON.stringify(inNewIsolate.body));
    assertUntouched(await merchantRead(payment.id), payment, 3);
    assert.equal((await chargesSince(before)).length, 0);
  });

  test("max_confirm_attempts comes from the worker's configuration", async () => {
    const strict = sandboxConfig({ publicUrl: workerUrl, sandboxUrl: sandbox.url, checkoutOrigins: [CHECKOUT], maxConfirmAttempts: 1 });
    const worker = await startWorker({ port: 0, config: strict, persistDir: false, onLog: () => {} });
    try {
      const created = await api.create(worker.url, createBody("paysafe"), KEY);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id, clientSecret } = created.body;
      clientSecrets.add(clientSecret);
      const first = await api.confirm(worker.url, id, confirmBody(clientSecret, BAD_PAN, "iframe"));
      assert.equal(first.status, 400, JSON.stringify(first.body));
      const second = await api.confirm(worker.url, id, confirmBody(clientSecret, FRICTIONLESS, "iframe"));
      assert.equal(second.status, 429, JSON.stringify(second.body));
      assert.equal(second.body.error.code, "too_many_attempts");
    } finally {
      await worker.mf.dispose();
    }
  });

  test("the worker logs the payments' steps as JSON lines with their request ids, and never a card number, a client secret or the key", () => {
    const lines = logs.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
    const parsed = lines.map((l) => JSON.parse(l));
    const said = (message) => parsed.filter((p) => p.fields.message === message);
    assert.ok(said("payment final").some((p) => p.fields.provider === "paysafe" && p.fields.status === "Authorized"
      && /^[0-9a-f]{32}$/.test(p.fields.session)), "a paysafe payment final");
    assert.ok(said("payment created").some((p) => p.fields.provider === "paysafe"), "a paysafe payment created");
    // As the native host's --log-format json: the request span on every line of a request.
    const access = parsed.filter((p) => p.target === "threeds_bridge::access");
    assert.ok(access.length > 10, `access lines: ${access.length}`);
    for (const line of access) {
      assert.equal(line.spans[0].name, "request");
      assert.match(line.spans[0].request_id, /^[0-9a-f]{32}$/);
      assert.equal(typeof line.fields.status, "number");
      assert.equal(typeof line.fields.duration_ms, "number");
      assert.ok(!line.fields.path.includes("?"));
    }
    assert.ok(parsed.some((p) => p.spans.some((s) => s.name === "call" && s.step && s.provider)), "a line within a provider call");
    // The timestamp is written in Rust from Date.now(): as toISOString() writes it, and now.
    for (const line of parsed) {
      assert.match(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(line.timestamp) - Date.now()) < 30 * 60_000, line.timestamp);
    }
    // At info, a payment's intermediate phases and its calls that answered 2xx at once are
    // not written (debug); its end is, and so is every other call.
    assert.equal(said("session moved").length, 0);
    assert.ok(said("payment final").length > 0);
    for (const line of said("provider answered")) {
      assert.ok(line.fields.attempt > 1 || line.fields.status < 200 || line.fields.status >= 300, JSON.stringify(line));
    }
    // The isolate's warm-up requests (at load) write nothing.
    assert.ok(!parsed.some((p) => p.spans.some((s) => s.request_id === "warm-up")), "no warm-up line");
    // Each span listed once, as natively (the access line is logged inside the request
    // span entered a second time; it was once listed twice).
    for (const line of parsed) {
      const spans = line.spans.map((s) => JSON.stringify(s));
      assert.equal(new Set(spans).size, spans.length, JSON.stringify(line));
    }
    for (const pan of [FRICTIONLESS, CHALLENGE, BAD_PAN]) assert.ok(!logs.includes(pan), `no ${pan} in the logs`);
    assert.ok(clientSecrets.size > 0);
    for (const secret of clientSecrets) assert.ok(!logs.includes(secret.split("_secret_")[1]), "no client secret in the logs");
    assert.ok(!logs.includes(KEY), "no merchant key in the logs");
  });

  test("the probes: /healthz is alive, /readyz is ready once the Durable Object answers, each with its request id", async () => {
    const health = await fetch(`${workerUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "alive" });
    assert.match(health.headers.get("x-request-id"), /^[0-9a-f]{32}$/);
    const ready = await fetch(`${workerUrl}/readyz`, { headers: { "x-request-id": "edge-probe-1" } });
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    assert.equal(ready.headers.get("x-request-id"), "edge-probe-1");
    assert.equal(ready.headers.get("cache-control"), "no-store");
  });

  test("an unknown payment is a 404 not_found for the merchant, served from the Durable Object", async () => {
    const answer = await api.read(workerUrl, "0123456789abcdef0123456789abcdef", KEY);
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, "not_found");
    const page = await api.view(workerUrl, "0123456789abcdef0123456789abcdef", `0123456789abcdef0123456789abcdef_secret_${"0".repeat(32)}`);
    assert.equal(page.status, 404, JSON.stringify(page.body));
  });

});

function notify(body, secret) {
  const date = new Date().toISOString();
  const login = "sak223k2wdksdl2";
  const signature = createHmac("sha256", secret).update(login + date + body).digest("hex");
  return fetch(`${workerUrl}/v1/webhooks/dlocal`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-date": date,
      "x-login": login,
      authorization: `V2-HMAC-SHA256, Signature: ${signature}`,
    },
    body,
  });
}
