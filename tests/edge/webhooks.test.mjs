// Outbound webhooks from the edge worker (docs/backend/webhooks.md), in miniflare (the real
// workerd) against the native sandbox: an authorized payment's event is written with the
// payment in the session object, and the object's alarm delivers it to a receiver on a
// local port that checks the signature as the docs' Node snippet does; the receiver's 500 to
// the first attempt is retried from the alarm, and the event is processed once. A capture's
// event is written with the capture's record, in the same put. And the object's outbox
// itself: a late attempt's retry or give-up cannot move a newer claim's lease back.
// Run by `make test-edge`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import { LOCAL_MERCHANT_KEY, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import {
  api, confirmBody, createAndConfirm, createBody, runMethod, sandboxedWorker, until,
} from "./support.mjs";

const SECRET = "whsec_edge_test_secret_0123456789";
const FRICTIONLESS = "4000000000001000";

let sandbox;
let worker;
let workerUrl;
let receiver;
const attempts = [];
const processed = new Map();

/** The docs' check: HMAC-SHA256 of `{id}.{timestamp}.{body}`, hex, constant-time, 5 min. */
function verified(headers, rawBody) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  if (!id || !/^\d+$/.test(timestamp ?? "")) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = crypto.createHmac("sha256", SECRET).update(`${id}.${timestamp}.`).update(rawBody).digest("hex");
  return (headers["webhook-signature"] ?? "").split(" ").some((entry) => {
    const given = entry.startsWith("v1=") ? entry.slice(3) : "";
    return given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  });
}

before(async () => {
  receiver = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = request.headers["webhook-id"];
      const ok = verified(request.headers, body);
      const first = !attempts.some((a) => a.id === id);
      const status = !ok ? 401 : first ? 500 : 204;
      attempts.push({ id, ok, status });
      if (status === 204 && !processed.has(id)) processed.set(id, JSON.parse(body));
      response.writeHead(status).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const started = await sandboxedWorker({ timeout_ms: 5000, attempts: 3, backoff_ms: 50 });
  ({ workerUrl, sandbox } = started);
  const { port, config } = started;
  config.webhooks = {
    endpoints: [{ url: `http://127.0.0.1:${receiver.address().port}/hooks`, secret: SECRET }],
    first_retry_ms: 500,
    max_retry_ms: 1000,
  };
  worker = await startWorker({ port, config });
});

after(async () => {
  await worker?.mf.dispose();
  await sandbox?.stop();
  receiver?.close();
});

test("an authorized payment's signed event reaches the receiver, retried after its 500, processed once", { timeout: 60_000 }, async () => {
  const { created, confirmed } = await createAndConfirm(workerUrl, LOCAL_MERCHANT_KEY, "paysafe", FRICTIONLESS, "iframe");
  assert.equal(created.status, 201, JSON.stringify(created.body));
  let view = confirmed.body;
  for (let step = 0; step < 3 && view.next?.type === "method"; step++) {
    const completion = await runMethod(workerUrl, view);
    view = (await api.method(workerUrl, created.body.id, created.body.clientSecret, completion)).body;
  }
  assert.equal(view.result?.status, "authorized", JSON.stringify(view));

  const event = await until(20_000, () => [...processed.values()][0]);
  assert.ok(event, `no event processed; attempts: ${JSON.stringify(attempts)}`);
  assert.equal(event.type, "payment.authorized");
  assert.match(event.id, /^evt_[0-9a-f]{32}$/);
  assert.equal(event.data.payment.id, created.body.id);
  assert.equal(event.data.payment.status, "authorized");
  assert.equal(event.data.payment.card.lastFour, "1000");
  assert.ok(!JSON.stringify(event).includes(FRICTIONLESS), "no card number");
  assert.ok(!JSON.stringify(event).includes("_secret_"), "no client secret");
  // Nothing more comes: the 204 ended it.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(processed.size, 1);
  assert.deepEqual(attempts.map((a) => [a.id, a.ok, a.status]), [[event.id, true, 500], [event.id, true, 204]]);
});

test("a capture's payment.captured event is written with the capture and delivered once", { timeout: 60_000 }, async () => {
  const created = await api.create(workerUrl, { ...createBody("paysafe"), captureMode: "manual" }, LOCAL_MERCHANT_KEY);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, clientSecret } = created.body;
  let view = (await api.confirm(workerUrl, id, confirmBody(clientSecret, FRICTIONLESS, "iframe"))).body;
  for (let step = 0; step < 3 && view.next?.type === "method"; step++) {
    view = (await api.method(workerUrl, id, clientSecret, await runMethod(workerUrl, view))).body;
  }
  assert.equal(view.result?.status, "authorized", JSON.stringify(view));
  const capture = async (key) => {
    const answer = await fetch(`${workerUrl}/v1/payments/${id}/capture`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL_MERCHANT_KEY}`, "idempotency-key": key, "content-type": "application/json" },
      body: JSON.stringify({ amount: 700 }),
    });
    return { status: answer.status, body: await answer.json() };
  };
  const captured = await capture("cap-1");
  assert.equal(captured.status, 200, JSON.stringify(captured.body));
  assert.equal(captured.body.status, "succeeded");
  assert.equal((await capture("cap-1")).body.id, captured.body.id, "a replay is the same capture");

  const ofPayment = () => [...processed.values()].filter((e) => e.data.payment.id === id);
  const both = await until(20_000, () => (ofPayment().length === 2 ? ofPayment() : null));
  assert.ok(both, `events of ${id}: ${JSON.stringify(ofPayment())}`);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const events = ofPayment().sort((a, b) => a.type.localeCompare(b.type));
  assert.deepEqual(events.map((e) => e.type), ["payment.authorized", "payment.captured"]);
  const operation = events[1].data.operation;
  assert.equal(operation.id, captured.body.id, "the id the API answered");
  assert.equal(operation.kind, "capture");
  assert.equal(operation.status, "succeeded");
  assert.equal(operation.amount, 700);
  assert.equal(typeof operation.providerOperationId, "string");
  for (const event of events) {
    assert.deepEqual(attempts.filter((a) => a.id === event.id).map((a) => a.status), [500, 204], event.type);
  }
});

test("an attempt that outlived its lease records only a delivery: its retry or give-up leaves the new claim alone", async () => {
  const namespace = await worker.mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  // Days ahead, so that the object's own alarm never finds this row due.
  const day = 24 * 60 * 60 * 1000;
  const t = Date.now() + 10 * day;
  const id = crypto.randomUUID().replaceAll("-", "");
  const event = { eventId: `evt_${id}`, endpoint: "https://stale.test/hooks", body: "{}", createdMs: t };
  const mine = (rows) => rows.find((row) => row.eventId === event.eventId);
  assert.equal(await object.create(id, `test:${id}`, 1, false, t + day, "{}", t + day), "created");
  assert.equal(await object.swap(id, 1, 2, true, t + day, "{}", null, [event]), true);
  const backlog = await object.backlog();
  assert.ok(backlog >= 1, `${backlog}`);

  assert.equal(mine(await object.claimDue(t, t + 1000, 16))?.attempts, 1);
  // The first sender outlives its lease; a second claims the row.
  assert.equal(mine(await object.claimDue(t + 1000, t + 2000, 16))?.attempts, 2);
  const record = (outcome, atMs, status, attempts) =>
    object.record(event.eventId, event.endpoint, outcome, atMs, status, attempts);
  assert.equal(await record("retry", t + 1500, 503, 1), false, "the first sender's late retry");
  assert.equal(await record("gave_up", t + 1100, 503, 1), false, "the first sender's late give-up");
  assert.equal(mine(await object.claimDue(t + 1999, t + 5000, 16)), undefined, "still the second sender's");
  assert.equal(await record("retry", t + 3000, 500, 2), true, "the second sender's retry");
  // A delivery lands whoever's attempt it was: the endpoint has the event.
  assert.equal(await record("delivered", t + 1200, 204, 1), true);
  assert.equal(mine(await object.claimDue(t + 10_000, t + 20_000, 16)), undefined, "never sent again");
  assert.equal(await object.backlog(), backlog - 1, "the backlog counts it no more");
});
