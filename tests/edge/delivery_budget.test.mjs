// A webhook endpoint that never answers does not hold the sweep back (pkg/edge/sessions.js,
// DELIVERY_BUDGET_MS): the sweep (expiries, payments in doubt) runs at an alarm's start, and
// an alarm starts webhook POSTs for 10 s at most. Here 42 events are due to an endpoint that
// takes each connection and never answers (each POST waits the 1 s call timeout), and a
// payment created beside them expires 2 s later. Without the budget the first alarm posted
// for 42 s before the next sweep could end the payment; with it, the next alarm sweeps it
// about 12 s in. In miniflare (the real workerd), run by `make test-edge`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import { LOCAL_MERCHANT_KEY, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { api, createBody, sandboxedWorker, until } from "./support.mjs";

let sandbox;
let worker;
let workerUrl;
let endpoint;
let posts = 0;
const hanging = http.createServer(() => {
  posts += 1; // and never answered
});

before(async () => {
  await new Promise((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${hanging.address().port}/hooks`;
  const started = await sandboxedWorker({ timeout_ms: 1000, attempts: 1, backoff_ms: 0 });
  ({ workerUrl, sandbox } = started);
  const { port, config } = started;
  config.session_ttl_seconds = 2;
  config.webhooks = { endpoints: [{ url: endpoint, secret: "whsec_budget_test_0123456789" }] };
  worker = await startWorker({ port, config });
});

after(async () => {
  await worker?.mf.dispose();
  await sandbox?.stop();
  hanging.closeAllConnections();
  hanging.close();
});

test("an endpoint that never answers does not hold back the sweep that ends an expired payment", { timeout: 120_000 }, async () => {
  const namespace = await worker.mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  // 42 events due now, written as the backend writes them: with three sessions' final
  // swaps (at most 16 events a write).
  const now = Date.now();
  const day = 24 * 60 * 60 * 1000;
  for (let session = 0; session < 3; session++) {
    const id = crypto.randomUUID().replaceAll("-", "");
    const events = Array.from({ length: 14 }, (_, n) => ({
      eventId: `evt_${id}_${n}`, endpoint, body: "{}", createdMs: now,
    }));
    assert.equal(await object.create(id, `test:${id}`, 1, false, now + day, "{}", now + day), "created");
    assert.equal(await object.swap(id, 1, 2, true, now + day, "{}", null, events), true);
  }
  const created = await api.create(workerUrl, createBody("paysafe"), LOCAL_MERCHANT_KEY);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const started = Date.now();

  // Read from the object itself: the API's own read would end the expired payment.
  const expired = await until(30_000, async () => {
    const stored = JSON.parse((await object.load(created.body.id)) ?? "null");
    return stored?.phase?.phase === "final" ? stored : null;
  });
  assert.ok(expired, `not swept within 30 s; ${posts} POSTs made meanwhile`);
  assert.equal(expired.phase.result.error.code, "session_expired", JSON.stringify(expired.phase));
  // The deliveries went on meanwhile (and were not all made before the sweep).
  assert.ok(posts > 0 && posts < 42, `${posts} POSTs in ${Date.now() - started} ms`);
});
