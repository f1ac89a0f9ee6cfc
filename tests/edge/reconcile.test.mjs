// The edge worker's reconciler and its hung-up requests (#13), in miniflare (the real
// workerd) against the native sandbox:
// - the session object's alarm fires at the earliest wake-up time and runs the backend's
//   sweep with no request from anyone: a payment in doubt is looked up when its lookup is
//   due, an expired payment is ended; a payment in doubt whose provider this worker does
//   not offer stays in doubt, looked at again later, and does not stop the others; nor does
//   a session whose stored text is damaged, which is logged by its id;
// - a page that hangs up while its confirm is in the provider's sale leaves the sale to
//   finish (ctx.waitUntil): the payment ends authorized, charged once.
// - a provider that hangs: the worker's fetch gives up (AbortSignal), the payment is
//   unknown, and the merchant's reconcile settles it, charged once.
// The session object is watched through its own RPC methods (load, due), never through the
// worker's routes: a read there would bring the payment up to date by itself.
// Run by `make test-edge`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { LOCAL_MERCHANT_KEY, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, confirmBody, createBody, faults, ledger, sandboxedWorker, until } from "./support.mjs";

const KEY = LOCAL_MERCHANT_KEY;
const FRICTIONLESS = "4000000000001000";
/** Seconds a payment lives here: short, so that the alarm's expiry shows within a test. */
const TTL_SECONDS = 3;
const RECONCILE = { first_lookup_ms: 500, max_lookup_ms: 3000 };

let sandbox;
let worker;
let workerUrl;
let sessions;
let logs = "";

before(async () => {
  const started = await sandboxedWorker({ timeout_ms: 5000, attempts: 3, backoff_ms: 50 });
  ({ workerUrl, sandbox } = started);
  const { port, config } = started;
  config.session_ttl_seconds = TTL_SECONDS;
  config.reconcile = RECONCILE;
  // A provider this worker no longer offers (its sessions may still be stored).
  delete config.providers.bambora;
  worker = await startWorker({ port, config, onLog: (text) => { logs += text; } });
  assert.equal(worker.url, workerUrl);
  const namespace = await worker.mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  sessions = namespace.get(namespace.idFromName("sessions"));
});

after(async () => {
  await worker?.mf.dispose();
  await sandbox?.stop();
});

/** The stored session `id` as the object holds it (parsed), read without the backend. */
async function stored(id) {
  const text = await sessions.load(id);
  return text === null ? null : JSON.parse(text);
}

/** How long an unreadable due record waits (`UNREADABLE_RETRY_MS`, src/store/mod.rs). */
const UNREADABLE_RETRY_MS = 60 * 60 * 1000;

let serial = 0;

/** A fresh session id, in the order they are drawn (the serial leads). */
function nextId() {
  serial += 1;
  return `${String(serial).padStart(4, "0")}${crypto.randomUUID().replaceAll("-", "").slice(4)}`;
}

/**
 * Stores, as the backend would have, a payment whose money call lost its answer: status
 * unknown, its next lookup at `lookupAtMs`.
 */
async function storeInDoubt(provider, state, lookupAtMs) {
  const now = Date.now();
  const id = nextId();
  const orderId = `order-doubt-${id.slice(0, 12)}`;
  const session = {
    id,
    nonce: "1".repeat(32),
    client_secret: `${id}_secret_${"2".repeat(32)}`,
    provider,
    order_id: orderId,
    amount: 1099,
    currency: "USD",
    checkout_origin: CHECKOUT,
    display: "iframe",
    card: null,
    created_at_ms: now - 60_000,
    // Long past: a payment in doubt does not expire.
    expires_at_ms: now - 30_000,
    updated_at_ms: now - 1_000,
    wake_at_ms: lookupAtMs,
    version: 4,
    phase: { phase: "unknown", state, purpose: `${provider}.payment`, lookups: 0, next_lookup_at_ms: lookupAtMs },
  };
  const answer = await sessions.create(id, `${provider}:${orderId}`, 4, false, session.expires_at_ms, JSON.stringify(session), lookupAtMs);
  assert.equal(answer, "created");
  return id;
}

/**
 * Stores a session whose text no longer reads as one (a damaged record), due at `wakeAtMs`.
 */
async function storeDamaged(wakeAtMs) {
  const id = nextId();
  const answer = await sessions.create(id, `paysafe:order-damaged-${id.slice(0, 12)}`, 4, false, Date.now() - 30_000, '{"id":', wakeAtMs);
  assert.equal(answer, "created");
  return id;
}

/** The ids among the sessions the object says are due at `atMs` (each `[id, text]`). */
async function dueIds(atMs) {
  return (await sessions.due(atMs, 100)).map(([id, text]) => {
    assert.ok(text.startsWith('{"id":'), text);
    return id;
  });
}

describe("the session object's alarm", () => {
  test("looks a payment in doubt up when its lookup is due, with no request", async () => {
    // Far enough ahead that the set-up below (five object calls) ends before the alarm
    // fires on a busy machine: the alarm would move every wake-up on.
    const lookupAt = Date.now() + 4000;
    // What the provider says is its adapter's to find out (each provider's lookup is
    // tested with it); this stored state is one the adapter cannot read (one a newer build
    // wrote, say), and a lookup of it keeps it in doubt as it is, with one lookup more:
    // what this test watches is who runs it, and when.
    const doubt = await storeInDoubt("paysafe", { lost: "a state no adapter reads" }, lookupAt);
    // Bambora is not offered here: nothing can look this one up.
    const orphan = await storeInDoubt("bambora", { lost: "bambora's" }, lookupAt);
    // And one whose stored text is damaged: logged by its id, and no stop to the sweep; and
    // an operation of it, damaged too.
    const damaged = await storeDamaged(lookupAt);
    assert.equal(await sessions.insertOperation(damaged, 0, "damaged-op", Date.now(), 1, false, lookupAt, '{"id":'),
      "created");
    assert.deepEqual(await dueIds(lookupAt - 1), [], "not due before its lookup");
    assert.deepEqual((await dueIds(lookupAt)).sort(), [doubt, orphan, damaged].sort(), "due from its lookup on");

    const looked = await until(12000, async () => {
      const session = await stored(doubt);
      return session.phase.lookups > 0 ? session : null;
    });
    assert.ok(looked, `the alarm looked the payment in doubt up: ${JSON.stringify(await stored(doubt))}`);
    assert.ok(looked.updated_at_ms >= lookupAt, "not before its lookup was due");
    // Never guessed final: in doubt still, its state as written, its next lookup later.
    assert.equal(looked.phase.phase, "unknown", JSON.stringify(looked));
    assert.deepEqual(looked.phase.state, { lost: "a state no adapter reads" });
    assert.ok(looked.wake_at_ms > lookupAt, JSON.stringify(looked));
    assert.match(logs, /reconciler swept the sessions that were due/);
    const unreadable = logs.split("\n").filter((line) => line.includes("a due session cannot be read"));
    assert.ok(unreadable.length > 0, "the damaged session was logged");
    const fields = JSON.parse(unreadable[0].slice(unreadable[0].indexOf("{"))).fields;
    assert.equal(fields.id, damaged, unreadable[0]);
    assert.match(fields.error, /body is not a session/, unreadable[0]);
    const operation = logs.split("\n").find((line) => line.includes("a due operation cannot be read"));
    assert.ok(operation, "the damaged operation was logged");
    assert.equal(JSON.parse(operation.slice(operation.indexOf("{"))).fields.id, `${damaged}:damaged-op`);
    // Both wait an hour, so that the object's alarm rests rather than firing every second
    // for them; then they are read (and reported) again.
    const dueOps = async (atMs) => (await sessions.dueOperations(atMs, 100)).map(([ref]) => ref);
    assert.ok(!(await dueIds(Date.now())).includes(damaged), "the damaged session waits an hour");
    assert.deepEqual(await dueOps(Date.now()), [], "the damaged operation waits an hour");
    const anHourOn = Date.now() + UNREADABLE_RETRY_MS;
    assert.ok((await dueIds(anHourOn)).includes(damaged), "and is due an hour on");
    assert.deepEqual(await dueOps(anHourOn), [`${damaged}:damaged-op`]);

    // The one nobody can look up is left in doubt, woken again only after max_lookup_ms.
    const orphaned = await stored(orphan);
    assert.equal(orphaned.phase.phase, "unknown", JSON.stringify(orphaned));
    assert.equal(orphaned.phase.lookups, 0, "no lookup was made");
    assert.ok(orphaned.wake_at_ms >= lookupAt + RECONCILE.max_lookup_ms, JSON.stringify(orphaned));
    const doubtNow = await stored(doubt);
    assert.ok(!(await dueIds(doubtNow.wake_at_ms - 1)).includes(doubt), "not due before its next lookup");
  });

  test("ends an expired payment when it expires, with no request", async () => {
    const created = await api.create(workerUrl, createBody("paysafe"), KEY);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, expiresAtMs } = created.body;
    assert.equal((await stored(id)).wake_at_ms, expiresAtMs);
    const ended = await until(TTL_SECONDS * 1000 + 6000, async () => {
      const session = await stored(id);
      return session.phase.phase === "final" ? session : null;
    });
    assert.ok(ended, `the alarm ended the expired payment: ${JSON.stringify(await stored(id))}`);
    assert.ok(ended.updated_at_ms >= expiresAtMs);
    assert.equal(ended.phase.result.error.code, "session_expired");
  });
});

describe("a page that hangs up", () => {
  test("leaves the provider's sale to finish: authorized, charged once", async () => {
    const saleMs = 1500;
    const slow = await faults(sandbox.url, [{ provider: "paysafe", endpoint: "/cardpayments", latency_ms: saleMs }]);
    assert.equal(slow.status, 200);
    try {
      const before = (await ledger(sandbox.url)).length;
      const created = await api.create(workerUrl, createBody("paysafe"), KEY);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id, clientSecret } = created.body;
      const hungUp = await fetch(`${workerUrl}/v1/payments/${id}/confirm`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: CHECKOUT, accept: "text/html" },
        body: JSON.stringify(confirmBody(clientSecret, FRICTIONLESS, "iframe")),
        signal: AbortSignal.timeout(saleMs / 3),
      }).then(() => "answered", (error) => error.name);
      assert.equal(hungUp, "TimeoutError", "the page gave up before the answer");
      // Its next read learns the result (in time for it: within the session's life).
      const view = await until(saleMs + 4000, async () => {
        const read = await api.read(workerUrl, id, KEY);
        return read.body.state === "final" ? read.body : null;
      });
      assert.ok(view, "the payment ended");
      assert.equal(view.status, "authorized", JSON.stringify(view));
      const charges = (await ledger(sandbox.url)).slice(before);
      assert.equal(charges.length, 1, JSON.stringify(charges));
    } finally {
      await faults(sandbox.url, null);
    }
  });
});

describe("a provider that hangs", () => {
  test("a hung provider: the worker's fetch gives up (AbortSignal), the payment is unknown, and the merchant's reconcile settles it", async () => {
    const quick = sandboxConfig({
      publicUrl: workerUrl,
      sandboxUrl: sandbox.url,
      checkoutOrigins: [CHECKOUT],
      calls: { timeout_ms: 1000, attempts: 2, backoff_ms: 20 },
    });
    const impatient = await startWorker({ port: 0, config: quick, persistDir: false, onLog: () => {} });
    try {
      assert.equal((await faults(sandbox.url, [{ provider: "paysafe", endpoint: "/cardpayments", hang: true }])).status, 200);
      const before = (await ledger(sandbox.url)).length;
      const created = await api.create(impatient.url, createBody("paysafe"), KEY);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const t0 = Date.now();
      const started = await api.confirm(impatient.url, created.body.id, confirmBody(created.body.clientSecret, FRICTIONLESS, "iframe"));
      const took = Date.now() - t0;
      assert.equal(started.status, 200, JSON.stringify(started.body));
      // The authorization's answer is lost: Paysafe may or may not have charged.
      assert.equal(started.body.status, "unknown", JSON.stringify(started.body));
      assert.equal(started.body.result, null, JSON.stringify(started.body));
      assert.ok(took < 5000, `answered in ${took} ms`);
      assert.equal((await ledger(sandbox.url)).slice(before).length, 0);
      // Paysafe answers again: the lookup finds nothing, the deduplicated authorization is
      // sent again, and the payment ends with Paysafe's truth, charged once.
      await faults(sandbox.url, null);
      const reconciled = await fetch(`${impatient.url}/v1/payments/${created.body.id}/reconcile`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
      });
      const view = await reconciled.json();
      assert.equal(reconciled.status, 200, JSON.stringify(view));
      assert.equal(view.status, "authorized", JSON.stringify(view));
      const charges = (await ledger(sandbox.url)).slice(before);
      assert.equal(charges.length, 1);
      assert.equal(view.result.providerPaymentId, charges[0].provider_payment_id);
    } finally {
      await faults(sandbox.url, null);
      await impatient.mf.dispose();
    }
  });
});
