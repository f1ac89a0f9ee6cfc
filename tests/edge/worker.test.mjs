// The example worker (examples/edge-worker) in miniflare — the real workerd — against the
// native sandbox on 127.0.0.1, the test acting as checkout page and cardholder's browser.
// For every provider: a frictionless payment, and a challenge payment whose worker is
// restarted between start and return (so the session can only have come from the
// Durable Object), whose return is then delivered twice at once and replayed later, and,
// for dLocal, a replayed notification: the sandbox ledger shows one charge each time.
// Run by `make test-edge` (it builds pkg/edge and the native binary first).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, followToBackend, freePort, land, ledger, nextForm, runMethod, startBody, startSandbox } from "./support.mjs";

const PROVIDERS = ["payroc", "dlocal", "paysafe", "bambora"];
const FRICTIONLESS = "4000000000001000";
const CHALLENGE = "4000000000002008";

let sandbox;
let worker;
let port;
let workerUrl;
let persistDir;
let config;
/** Everything the workers printed (the core's log lines). */
let logs = "";

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

/**
 * Drives a started payment to its final view. `onBrowserStep(view)` runs before the
 * browser leaves for the issuer or provider; `deliver(form)` lands the return.
 */
async function drive(view, { code = "1234", onBrowserStep = async () => {}, deliver = land } = {}) {
  const landings = [];
  for (let i = 0; i < 8; i += 1) {
    switch (view.next.type) {
      case "none":
        if (view.state === "final") return { view, landings };
        view = (await api.view(workerUrl, view.id)).body;
        break;
      case "method": {
        const completion = await runMethod(workerUrl, view);
        const answer = await api.method(workerUrl, view.id, completion);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        view = answer.body;
        break;
      }
      case "challenge":
      case "redirect": {
        await onBrowserStep(view);
        const form = await followToBackend(workerUrl, nextForm(view), code);
        landings.push({ form, answers: await deliver(form) });
        const answer = await api.view(workerUrl, view.id);
        assert.equal(answer.status, 200);
        view = answer.body;
        break;
      }
      default:
        assert.fail(`unexpected next: ${JSON.stringify(view)}`);
    }
  }
  assert.fail(`the payment did not finish: ${JSON.stringify(view)}`);
}

function assertLanded(landing, display, body) {
  if (display === "iframe") {
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
    test(`${provider}: a frictionless payment, started twice at once, is authorized once`, async () => {
      const before = (await ledger(sandbox.url)).length;
      const body = startBody(provider, FRICTIONLESS, "iframe");
      // A double click: two starts at once make one payment and one provider payment.
      const both = await Promise.all([api.start(workerUrl, body), api.start(workerUrl, body)]);
      assert.deepEqual(both.map((a) => a.status).sort(), [200, 201], JSON.stringify(both.map((a) => a.body)));
      const started = both.find((a) => a.status === 201);
      assert.match(started.body.id, /^[0-9a-f]{32}$/);
      assert.equal(both[0].body.id, both[1].body.id);

      const { view, landings } = await drive(started.body);
      assert.equal(view.result.status, "authorized", JSON.stringify(view));
      assert.equal(view.result.eci, "05");
      for (const landing of landings) assertLanded(landing.answers, "iframe", body);
      assertOneCharge(await chargesSince(before), view);
    });

    test(`${provider}: a challenge survives a worker restart, and a doubled or replayed return charges once`, async () => {
      const display = provider === "dlocal" ? "redirect" : "iframe";
      const before = (await ledger(sandbox.url)).length;
      const body = startBody(provider, CHALLENGE, display);
      const started = await api.start(workerUrl, body);
      assert.equal(started.status, 201, JSON.stringify(started.body));
      let restarted = 0;
      const { view, landings } = await drive(started.body, {
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
      for (const landing of landings) assertLanded(landing.answers, display, body);
      assertOneCharge(await chargesSince(before), view);

      // Replayed later, by a fresh isolate: the same answer, nothing changes.
      await restart();
      const last = landings.at(-1);
      const replay = await land(last.form);
      assert.equal(replay.status, last.answers.status, replay.body);
      const reread = await api.view(workerUrl, view.id);
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
        assert.deepEqual((await api.view(workerUrl, view.id)).body, view);
        assertOneCharge(await chargesSince(before), view);
      }
    });
  }

  test("the worker logs the payments' steps, and never a card number", () => {
    assert.match(logs, /payment final session=[0-9a-f]{32} provider=paysafe status=Authorized/);
    for (const pan of [FRICTIONLESS, CHALLENGE]) assert.ok(!logs.includes(pan), `no ${pan} in the logs`);
  });

  test("an unknown payment is a 404 not_found, served from the Durable Object", async () => {
    const answer = await api.view(workerUrl, "0123456789abcdef0123456789abcdef");
    assert.equal(answer.status, 404);
    assert.equal(answer.body.error.code, "not_found");
  });

  test("a hung provider: the worker's fetch gives up (AbortSignal) and the payment ends provider_timeout", async () => {
    const quick = sandboxConfig({
      publicUrl: workerUrl,
      sandboxUrl: sandbox.url,
      checkoutOrigins: [CHECKOUT],
      calls: { timeout_ms: 300, attempts: 2, backoff_ms: 20 },
    });
    const impatient = await startWorker({ port: 0, config: quick, persistDir: false, onLog: () => {} });
    const faults = (body) =>
      fetch(`${sandbox.url}/_sandbox/faults`, {
        method: body ? "POST" : "DELETE",
        headers: { "content-type": "application/json" },
        body: body && JSON.stringify(body),
      });
    try {
      assert.equal((await faults({ rules: [{ provider: "paysafe", endpoint: "/cardpayments", hang: true }] })).status, 200);
      const before = (await ledger(sandbox.url)).length;
      const t0 = Date.now();
      const started = await api.start(impatient.url, startBody("paysafe", FRICTIONLESS, "iframe"));
      const took = Date.now() - t0;
      assert.equal(started.status, 201, JSON.stringify(started.body));
      assert.equal(started.body.result?.status, "error", JSON.stringify(started.body));
      assert.equal(started.body.result.error.code, "provider_timeout");
      assert.ok(took < 5000, `answered in ${took} ms`);
      assert.equal((await chargesSince(before)).length, 0);
    } finally {
      await faults(null);
      await impatient.mf.dispose();
    }
  });

  test("a worker without its configuration answers 500 edge_misconfigured and leaks nothing", async () => {
    let printed = "";
    const bare = await startWorker({ port: 0, config: "{not json", persistDir: false, secrets: {}, onLog: (t) => { printed += t; } });
    try {
      const answer = await fetch(`${bare.url}/v1/payments/0123456789abcdef0123456789abcdef`);
      assert.equal(answer.status, 500);
      assert.equal((await answer.json()).error.code, "edge_misconfigured");
      await new Promise((r) => setTimeout(r, 100));
      assert.match(printed, /THREEDS_BRIDGE_CONFIG is not JSON/);
    } finally {
      await bare.mf.dispose();
    }
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
