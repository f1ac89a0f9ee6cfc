// The Durable Object's daily purge (pkg/edge/sessions.js), in miniflare (the real workerd)
// against the native sandbox: a final session is kept 30 days past its expiry, an
// unfinished one (a payment in doubt) 90, then each goes with everything filed under it
// (its order index, its operations and their counter, its wake-up entries), and the webhook
// rows sent for it go once they are as old.
//
// The object is the shipped ThreedsSessions, subclassed by a harness module to list its
// keys and to run its alarm as if that many days had passed (Date.now moved forward for
// that one call; the wasm's sweep, run by the same alarm, reads the same clock).
// Run by `make test-edge`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

import { LOCAL_MERCHANT_KEY, SANDBOX_SECRETS, modules } from "../../examples/edge-worker/miniflare.mjs";
import { api, createAndConfirm, createBody, faults, sandboxedWorker, until } from "./support.mjs";

const FRICTIONLESS = "4000000000001000";
const DAY_MS = 24 * 60 * 60 * 1000;

const HARNESS = `
import { createHandler, ThreedsSessions } from "threeds-bridge/edge";

const realNow = Date.now;
let shiftMs = 0;
Date.now = () => realNow() + shiftMs;

export class ClockedSessions extends ThreedsSessions {
  async keys() {
    return [...(await this.ctx.storage.list()).keys()];
  }
  /** An order key left behind by a purge cut off mid-way: its session is gone. */
  async orphanOrder(orderKey) {
    await this.ctx.storage.put(\`o:\${orderKey}\`, "0".repeat(32));
  }
  /**
   * A purge cut off just after deleting the order key of session \`id\`, which is long past
   * its retention: its record is left, the order free for a new payment.
   */
  async cutOffPurge(id) {
    const record = await this.ctx.storage.get(\`s:\${id}\`);
    const expiresAtMs = record.expiresAtMs - 100 * ${DAY_MS};
    await this.ctx.storage.put(\`s:\${id}\`, { ...record, expiresAtMs });
    await this.ctx.storage.delete(\`o:\${record.orderKey}\`);
  }
  /**
   * The alarm after \`days\` more days, cut off (as by a CPU limit or an eviction) at the
   * purge's second delete of a payment's keys: the first goes through, the second throws.
   */
  async alarmCutOffAfter(days) {
    const storage = this.ctx.storage;
    const realDelete = storage.delete;
    let deletes = 0;
    storage.delete = function (keys) {
      const list = Array.isArray(keys) ? keys : [keys];
      if (list.some((key) => key.startsWith("s:") || key.startsWith("p:")) && ++deletes > 1) {
        throw new Error("cut off");
      }
      return realDelete.call(storage, keys);
    };
    try {
      await this.alarmAfter(days);
    } catch {
      // Cut off, as meant.
    } finally {
      delete storage.delete;
    }
    return this.keys();
  }
  /** The alarm as it runs after \`days\` more days, the daily purge due. */
  async alarmAfter(days) {
    shiftMs = days * ${DAY_MS};
    try {
      await this.ctx.storage.put("m:purgeAt", Date.now());
      await this.alarm();
    } finally {
      shiftMs = 0;
    }
    return this.keys();
  }
}

const handler = createHandler();
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/_harness/")) return handler(request, env, ctx);
    const object = env.THREEDS_SESSIONS.get(env.THREEDS_SESSIONS.idFromName("sessions"));
    const days = Number(url.searchParams.get("days"));
    const keys = url.pathname === "/_harness/keys"
      ? await object.keys()
      : url.pathname === "/_harness/alarmCutOffAfter"
        ? await object.alarmCutOffAfter(days)
        : await object.alarmAfter(days);
    return Response.json(keys);
  },
};
`;

let sandbox;
let mf;
let workerUrl;
let receiver;
let delivered = 0;

before(async () => {
  receiver = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      delivered += 1;
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const started = await sandboxedWorker({ timeout_ms: 3000, attempts: 2, backoff_ms: 20 });
  ({ workerUrl, sandbox } = started);
  const { port, config } = started;
  config.webhooks = {
    endpoints: [{ url: `http://127.0.0.1:${receiver.address().port}/hooks`, secret: "whsec_purge_test_0123456789" }],
  };
  const root = fileURLToPath(new URL("../../examples/edge-worker/", import.meta.url));
  mf = new Miniflare({
    host: "127.0.0.1",
    port,
    modules: [{ type: "ESModule", path: `${root}harness.js`, contents: HARNESS }, ...modules()],
    modulesRoot: root,
    compatibilityDate: "2025-09-01",
    bindings: { THREEDS_BRIDGE_CONFIG: JSON.stringify(config), ...SANDBOX_SECRETS },
    durableObjects: { THREEDS_SESSIONS: "ClockedSessions" },
    // Read and dropped: an unread pipe fills and then blocks workerd's next log line.
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await sandbox?.stop();
  receiver?.close();
});

const harness = async (path) => (await fetch(`${workerUrl}/_harness/${path}`)).json();
const under = (keys, prefix) => keys.filter((key) => key.startsWith(prefix));

/** A charged Paysafe payment, refunded in part (an operation of its own): its create answer. */
async function refundedPayment(idempotencyKey) {
  const { created, confirmed } = await createAndConfirm(
    workerUrl, LOCAL_MERCHANT_KEY, "paysafe", FRICTIONLESS, "iframe",
  );
  assert.equal(confirmed?.body.status, "authorized", JSON.stringify(confirmed?.body));
  const refund = await fetch(`${workerUrl}/v1/payments/${created.body.id}/refunds`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_MERCHANT_KEY}`, "idempotency-key": idempotencyKey, "content-type": "application/json" },
    body: JSON.stringify({ amount: 99 }),
  });
  assert.equal(refund.status, 200, await refund.text());
  return created.body;
}

test("a final session is kept 30 days past its expiry, an unfinished one 90, then each goes with everything filed under it", async () => {
  // A charged payment, refunded in part (an operation of its own), its events delivered.
  const { id } = await refundedPayment("purge-ref");
  // A payment created and never confirmed: the sweep ends it at its expiry.
  const abandoned = await api.create(workerUrl, createBody("paysafe"), LOCAL_MERCHANT_KEY);
  assert.equal(abandoned.status, 201);
  // A payment in doubt: Paysafe never answers its authorization, nor any lookup after, so
  // no sweep can end it (it may be the only trace of a charge).
  assert.equal((await faults(sandbox.url, [{ provider: "paysafe", endpoint: "/cardpayments", hang: true }])).status, 200);
  const doubt = await createAndConfirm(workerUrl, LOCAL_MERCHANT_KEY, "paysafe", FRICTIONLESS, "iframe");
  assert.equal(doubt.confirmed?.body.status, "unknown", JSON.stringify(doubt.confirmed?.body));
  const doubtId = doubt.created.body.id;
  const sent = await until(10_000, async () => {
    const keys = await harness("keys");
    return under(keys, "e:").length > 0 && under(keys, "d:").length === 0;
  });
  assert.ok(sent, "every webhook row sent");
  assert.ok(delivered > 0);

  const before = await harness("keys");
  for (const payment of [id, abandoned.body.id, doubtId]) assert.ok(before.includes(`s:${payment}`), JSON.stringify(before));
  assert.equal(under(before, "o:").length, 3, JSON.stringify(before));
  assert.ok(under(before, `p:${id}:`).length > 0 && before.includes(`q:${id}`), JSON.stringify(before));
  // The ids in the wake-up index (`w:{wakeAtMs, 16 digits}:{id}`).
  const wakes = (keys) => under(keys, "w:").map((key) => key.slice("w:".length + 16 + 1));
  const lasting = (keys) => keys.filter((key) => !key.startsWith("w:"));

  // A day on: the sweep ends the abandoned one (its wake-up entry goes) and the same alarm
  // sends its event. The one in doubt is still looked up. Nothing is past its retention.
  const swept = await harness("alarmAfter?days=1");
  assert.deepEqual(wakes(swept), [doubtId], JSON.stringify(swept));
  assert.deepEqual(under(swept, "d:"), [], "every row sent");
  assert.ok(under(swept, "e:").length > under(before, "e:").length, "the expiry's event");
  // 29 days on: all expired long ago, none past its retention; nothing is deleted.
  const kept = await harness("alarmAfter?days=29");
  assert.deepEqual(lasting(kept), lasting(swept));

  // 32 days on: everything of the two final ones is gone; the one in doubt stays, whole.
  const purged = await harness("alarmAfter?days=32");
  const left = purged.filter((key) => !key.startsWith("m:"));
  assert.equal(left.length, 3, JSON.stringify(purged));
  assert.ok(left.includes(`s:${doubtId}`) && under(left, "o:").length === 1, JSON.stringify(purged));
  assert.deepEqual(wakes(purged), [doubtId]);
  assert.equal((await api.read(workerUrl, id, LOCAL_MERCHANT_KEY)).status, 404, "the final one is no longer known");
  const read = await api.read(workerUrl, doubtId, LOCAL_MERCHANT_KEY);
  assert.equal(read.body.status, "unknown", JSON.stringify(read.body));

  // 89 days on: still there. 91: gone too, and nothing is left for a purge to come.
  assert.ok((await harness("alarmAfter?days=89")).includes(`s:${doubtId}`));
  const empty = await harness("alarmAfter?days=91");
  assert.deepEqual(empty.filter((key) => !key.startsWith("m:")), [], JSON.stringify(empty));
  assert.ok(!empty.includes("m:purgeAt"), JSON.stringify(empty));
  await faults(sandbox.url, null);
});

test("a payment whose refund is not settled yet is kept past its retention, and goes once the refund settles", async () => {
  const { created, confirmed } = await createAndConfirm(
    workerUrl, LOCAL_MERCHANT_KEY, "paysafe", FRICTIONLESS, "iframe",
  );
  assert.equal(confirmed?.body.status, "authorized", JSON.stringify(confirmed?.body));
  const id = created.body.id;
  // Paysafe answers neither the refund nor its lookups: the refund is in doubt.
  assert.equal((await faults(sandbox.url, [{ provider: "paysafe", endpoint: "/cardpayments", hang: true }])).status, 200);
  const refund = await fetch(`${workerUrl}/v1/payments/${id}/refunds`, {
    method: "POST",
    headers: { authorization: `Bearer ${LOCAL_MERCHANT_KEY}`, "idempotency-key": "kept-ref", "content-type": "application/json" },
    body: JSON.stringify({ amount: 99 }),
  });
  const inDoubt = await refund.json();
  assert.equal(inDoubt.status, "unknown", JSON.stringify(inDoubt));

  // 32 days on, past a final payment's 30: kept whole, its refund perhaps the only trace of
  // money moved.
  const kept = await harness("alarmAfter?days=32");
  assert.ok(kept.includes(`s:${id}`) && under(kept, `p:${id}:`).length === 1, JSON.stringify(kept));
  // Paysafe answers again: the next alarm's sweep settles the refund (not found, so sent
  // again), and its purge then takes the payment and the refund.
  await faults(sandbox.url, null);
  const gone = await harness("alarmAfter?days=33");
  assert.ok(!gone.includes(`s:${id}`) && under(gone, `p:${id}:`).length === 0, JSON.stringify(gone));

  // A refund a backend began from its read of the payment just before the purge: the
  // object stores no operation for a payment it no longer holds.
  const namespace = await mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  const now = Date.now();
  assert.equal(await object.insertOperation(id, 0, "late-refund", now, 1, false, now + 60_000, "{}"), "no_payment");
  const left = await harness("keys");
  assert.deepEqual(left.filter((key) => key.includes(id)), [], JSON.stringify(left));
});

test("an order key whose session is gone does not hold the order", async () => {
  const namespace = await mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  const body = createBody("paysafe");
  await object.orphanOrder(`paysafe:${body.orderId}`);
  const created = await api.create(workerUrl, body, LOCAL_MERCHANT_KEY);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const keys = await harness("keys");
  assert.ok(keys.includes(`s:${created.body.id}`), JSON.stringify(keys));
  // And the order is now this payment's: the same create again answers it.
  const again = await api.create(workerUrl, body, LOCAL_MERCHANT_KEY);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.id, created.body.id);
});

test("a purge cut off after an order key's delete never takes the order from a payment created since", async () => {
  const namespace = await mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  const body = createBody("paysafe");
  const old = await api.create(workerUrl, body, LOCAL_MERCHANT_KEY);
  assert.equal(old.status, 201, JSON.stringify(old.body));
  await object.cutOffPurge(old.body.id);
  const fresh = await api.create(workerUrl, body, LOCAL_MERCHANT_KEY);
  assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
  assert.notEqual(fresh.body.id, old.body.id);

  // The next purge finishes the old session, and leaves the order to the new payment.
  const keys = await harness("alarmAfter?days=0");
  assert.ok(!keys.includes(`s:${old.body.id}`), JSON.stringify(keys));
  assert.ok(keys.includes(`o:paysafe:${body.orderId}`), JSON.stringify(keys));
  const again = await api.create(workerUrl, body, LOCAL_MERCHANT_KEY);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.id, fresh.body.id);
});

test("a purge cut off between two deletes never leaves a payment without its refunds", async () => {
  const { id, orderId } = await refundedPayment("cut-ref");

  // Past its retention, the purge cut off after its first delete: the payment is gone
  // with its refund and its order, or is still there with them. A payment left without
  // its refund would take a second refund of the same money; one left without its order
  // key, a second payment of the order.
  const cut = await harness("alarmCutOffAfter?days=32");
  const order = `o:paysafe:${orderId}`;
  const whole = [`s:${id}`, `q:${id}`, order].every((key) => cut.includes(key)) && under(cut, `p:${id}:`).length === 1;
  const none = !cut.includes(order) && cut.every((key) => !key.includes(id));
  assert.ok(whole || none, JSON.stringify(cut));
  // The next purge finishes it.
  const done = await harness("alarmAfter?days=32");
  assert.ok(done.every((key) => !key.includes(id)), JSON.stringify(done));
});

test("the object refuses a batch larger than one storage write can hold, before it writes", async () => {
  const namespace = await mf.getDurableObjectNamespace("THREEDS_SESSIONS");
  const object = namespace.get(namespace.idFromName("sessions"));
  const now = Date.now();
  // A claimed row is two keys in one put of at most 128: 64 rows at most.
  await assert.rejects(object.claimDue(now, now + 60_000, 65));
  await assert.rejects(object.due(now, 129));
  await assert.rejects(object.dueOperations(now, 129));
  await assert.doesNotReject(object.claimDue(now, now + 60_000, 64));
  await assert.doesNotReject(object.due(now, 128));
  await assert.doesNotReject(object.dueOperations(now, 128));
});
