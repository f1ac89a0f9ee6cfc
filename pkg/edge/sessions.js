// ThreedsSessions: the Durable Object that holds the edge backend's payment sessions, and
// whose alarm runs the reconciler.
//
// Why a Durable Object and not Workers KV: docs/edge.md. One instance per name runs one
// event at a time, and while one of its storage calls is pending no other event is
// delivered to it (input gates), so the read, the comparison and the write of `swap`
// below happen with nothing in between: compare-and-set, as SessionStore requires.
//
// It keeps each session's JSON text (written and read by the Rust core's edge host,
// src/backend/edge/durable.rs) with the two numbers it compares on, the (provider, order
// id) index, and the wake-up index: each unfinished session under the time the backend must
// look at it without being asked (`w:{wakeAtMs, 16 digits}:{id}`: its expiry, the end of a
// call's lease, the next lookup of a payment in doubt). The alarm fires at the earliest of
// those and runs the backend's sweep (the wasm's `sweep(env)`, which reads what is due
// through `due` and writes through `swap`, as a request would); once a day it also purges
// sessions past their retention.
// It never parses a session, and holds no card data (a session has none).
//
// Captures, voids and refunds (src/backend/edge/durable_ops.rs) are records of their own:
// `p:{paymentId}:{id}` with the numbers compared on, a counter per payment `q:{paymentId}`
// that each insert or swap of one of its operations moves on (the Rust side decides and
// inserts only if the counter did not move), and the wake-up index `x:{wakeAtMs}:{paymentId}:{id}`
// of unsettled ones, which the alarm sweeps as it does sessions. A purged session takes its
// operations with it.
// It also keeps the webhook outbox (docs/backend/webhooks.md): `swap` and `swapOperation`
// write a payment's events (one row per event and endpoint, `e:{eventId} {endpoint}`) in the
// same put as the session or the operation, each indexed under its next attempt
// (`d:{atMs, 16 digits}:{row key}`); the alarm fires at the earliest of those too and runs the wasm's `deliverWebhooks(env, stopAtMs)`, which
// claims due rows (`claimDue`: the next attempt moves to the end of a lease) and records
// each attempt (`record`). The daily purge deletes rows sent or given up once they are as
// old as a final session is kept.
import { DurableObject } from "cloudflare:workers";
import wasmModule from "./threeds_bridge_edge_bg.wasm";
import { deliverWebhooks, initSync, sweep } from "./threeds_bridge_edge.js";

const DAY_MS = 24 * 60 * 60 * 1000;
// As the native SQLite store (docs/backend/store.md): a final session is kept 30 days past
// its expiry, an unfinished one 90 (it may be the only trace of a call that moved money).
const KEEP_FINAL_MS = 30 * DAY_MS;
const KEEP_UNFINISHED_MS = 90 * DAY_MS;
const PURGE_EVERY_MS = DAY_MS;
// A session still due after a sweep (one the provider keeps failing to answer for, backing
// off) is not swept again sooner than this.
const MIN_SWEEP_GAP_MS = 1000;
// After a sweep that failed (the backend not configured, the store failing).
const RETRY_SWEEP_MS = 60 * 1000;
// How long an alarm starts webhook deliveries for: an endpoint that hangs costs each POST
// the call timeout, and the sweep (expiries, payments in doubt) runs only at an alarm's
// start, so it must not wait behind a backlog sent to one. The POST under way when it
// passes is finished; rows nobody claimed yet go at the next alarm, a second later, and
// rows a round claimed and did not send wait for their lease (3 minutes by default).
const DELIVERY_BUDGET_MS = 10 * 1000;
// Storage keys besides the sessions' s:, o: and w: entries.
const PURGE_AT = "m:purgeAt";
const WAKE_INDEXED = "m:wakeIndexed";
// put() and delete() take at most 128 keys a call.
const MAX_KEYS = 128;

const isCount = (n) => Number.isSafeInteger(n) && n >= 0;
const isWake = (n) => n === null || isCount(n);
const wakeKey = (wakeAtMs, id) => `w:${String(wakeAtMs).padStart(16, "0")}:${id}`;
const wakeOf = (key) => Number(key.slice(2, 18));
const opKey = (paymentId, id) => `p:${paymentId}:${id}`;
const opWakeKey = (wakeAtMs, paymentId, id) => `x:${String(wakeAtMs).padStart(16, "0")}:${paymentId}:${id}`;
const rowKey = (eventId, endpoint) => `e:${eventId} ${endpoint}`;
const queueKey = (atMs, row) => `d:${String(atMs).padStart(16, "0")}:${row}`;
const isEvent = (e) => e !== null && typeof e === "object" && typeof e.eventId === "string" &&
  typeof e.endpoint === "string" && typeof e.body === "string" && isCount(e.createdMs);
// At most 16: the backend's webhooks.endpoints allows no more (MAX_ENDPOINTS), one row each.
const isEvents = (events) => Array.isArray(events) && events.length <= 16 && events.every(isEvent);

export class ThreedsSessions extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(() => this.#indexOlderSessions());
  }

  /** Stores a new session: "created", or "duplicate" if its id or its order is taken. */
  async create(id, orderKey, version, isFinal, expiresAtMs, body, wakeAtMs) {
    check(typeof id === "string" && typeof orderKey === "string" && isCount(version) &&
      typeof isFinal === "boolean" && isCount(expiresAtMs) && typeof body === "string" && isWake(wakeAtMs));
    const storage = this.ctx.storage;
    const taken = await storage.get([`s:${id}`, `o:${orderKey}`]);
    if (taken.has(`s:${id}`)) return "duplicate";
    // An order key whose session is gone holds nothing, and is taken over: an older purge,
    // cut off between two of its deletes, could leave one behind.
    const holder = taken.get(`o:${orderKey}`);
    if (holder !== undefined && (await storage.get(`s:${holder}`)) !== undefined) return "duplicate";
    await storage.put({
      [`s:${id}`]: { version, final: isFinal, expiresAtMs, orderKey, body, wakeAtMs },
      [`o:${orderKey}`]: id,
      ...(wakeAtMs !== null && { [wakeKey(wakeAtMs, id)]: id }),
    });
    if ((await storage.get(PURGE_AT)) === undefined) {
      const purgeAt = Date.now() + PURGE_EVERY_MS;
      await storage.put(PURGE_AT, purgeAt);
      await this.#alarmBy(purgeAt);
    }
    await this.#alarmBy(wakeAtMs);
    return "created";
  }

  /** The session's JSON text, or null. */
  async load(id) {
    check(typeof id === "string");
    const record = await this.ctx.storage.get(`s:${id}`);
    return record === undefined ? null : record.body;
  }

  /** The JSON text of the session of this (provider, order id), or null. */
  async loadByOrder(orderKey) {
    check(typeof orderKey === "string");
    const id = await this.ctx.storage.get(`o:${orderKey}`);
    return id === undefined ? null : this.load(id);
  }

  /**
   * Replaces the session if the stored one still has version `expected` (and the new one
   * is `expected + 1`) and is not final. false: someone moved it first, or it is over.
   * `wakeAtMs`: when the backend must look at it next (null once final).
   */
  async swap(id, expected, version, isFinal, expiresAtMs, body, wakeAtMs, events = []) {
    check(typeof id === "string" && isCount(expected) && isCount(version) &&
      typeof isFinal === "boolean" && isCount(expiresAtMs) && typeof body === "string" && isWake(wakeAtMs) &&
      isEvents(events));
    const storage = this.ctx.storage;
    const stored = await storage.get(`s:${id}`);
    if (stored === undefined || stored.final || stored.version !== expected || version !== expected + 1) {
      return false;
    }
    const before = stored.wakeAtMs ?? null;
    const changes = { [`s:${id}`]: { ...stored, version, final: isFinal, expiresAtMs, body, wakeAtMs } };
    if (wakeAtMs !== null && wakeAtMs !== before) changes[wakeKey(wakeAtMs, id)] = id;
    // The webhook events of this change, in the same put: both or neither.
    enqueue(changes, events);
    // No await between the two writes: storage commits them as one.
    const unindexed = before !== null && before !== wakeAtMs ? storage.delete(wakeKey(before, id)) : null;
    await storage.put(changes);
    await unindexed;
    await this.#alarmBy(wakeAtMs);
    for (const event of events) await this.#alarmBy(event.createdMs);
    return true;
  }

  /**
   * Up to `limit` outbox rows due at `nowMs`, soonest first: each one's attempts count one
   * more and its next attempt moves to `leaseUntilMs` (claimed; a sender that dies leaves
   * it due again then). Answers [{eventId, endpoint, body, createdMs, attempts}].
   */
  async claimDue(nowMs, leaseUntilMs, limit) {
    // Two keys a claimed row, in one put of at most MAX_KEYS.
    check(isCount(nowMs) && isCount(leaseUntilMs) && isCount(limit) && limit <= MAX_KEYS / 2);
    const storage = this.ctx.storage;
    const queued = await storage.list({ prefix: "d:", end: queueKey(nowMs + 1, ""), limit });
    if (queued.size === 0) return [];
    const rows = await storage.get([...new Set(queued.values())]);
    const claimed = [];
    const changes = {};
    const stale = [];
    for (const [key, row] of queued) {
      const record = rows.get(row);
      stale.push(key);
      if (record === undefined || record.done || record.nextAttemptAtMs !== Number(key.slice(2, 18))) continue;
      const next = { ...record, attempts: record.attempts + 1, nextAttemptAtMs: leaseUntilMs };
      changes[row] = next;
      changes[queueKey(leaseUntilMs, row)] = row;
      const { eventId, endpoint, body, createdMs, attempts } = next;
      claimed.push({ eventId, endpoint, body, createdMs, attempts });
    }
    const removed = storage.delete(stale);
    if (Object.keys(changes).length > 0) await storage.put(changes);
    await removed;
    if (claimed.length > 0) await this.#alarmBy(leaseUntilMs);
    return claimed;
  }

  /**
   * How an attempt ended: "delivered" and "gave_up" end the row; "retry" queues it again
   * at `atMs`. `status`: the endpoint's HTTP status, or null (no answer). `attempts`: the
   * claim's count; a "retry" or "gave_up" of an attempt claimed again since (it outlived
   * its lease) changes nothing, so it cannot move the new claim's lease back.
   */
  async record(eventId, endpoint, outcome, atMs, status, attempts) {
    check(typeof eventId === "string" && typeof endpoint === "string" &&
      ["delivered", "retry", "gave_up"].includes(outcome) && isCount(atMs) && (status === null || isCount(status)) &&
      isCount(attempts));
    const storage = this.ctx.storage;
    const row = rowKey(eventId, endpoint);
    const record = await storage.get(row);
    if (record === undefined || record.done) return false;
    if (outcome !== "delivered" && record.attempts !== attempts) return false;
    const retry = outcome === "retry";
    const next = { ...record, lastStatus: status, done: !retry, nextAttemptAtMs: retry ? atMs : record.nextAttemptAtMs };
    const removed = storage.delete(queueKey(record.nextAttemptAtMs, row));
    await storage.put(retry ? { [row]: next, [queueKey(atMs, row)]: row } : { [row]: next });
    await removed;
    if (retry) await this.#alarmBy(atMs);
    return true;
  }

  /**
   * Outbox rows neither delivered nor given up: each has one entry in the delivery queue
   * (`d:`), whose value is the row's key. Counted there, so as not to read every row kept
   * (delivered rows stay 30 days, their bodies with them) on each delivery round.
   */
  async backlog() {
    return new Set((await this.ctx.storage.list({ prefix: "d:" })).values()).size;
  }

  /**
   * Up to `limit` unfinished sessions whose wake-up time is at or before `nowMs`, soonest
   * first: each as `[id, its JSON text]` (the reconciler's sweep, which logs a text it cannot
   * read by its id and `defer`s it). Index entries left behind by a session that is gone or final are
   * dropped on the way.
   */
  async due(nowMs, limit) {
    check(isCount(nowMs) && isCount(limit) && limit <= MAX_KEYS);
    const storage = this.ctx.storage;
    const index = await storage.list({ prefix: "w:", end: wakeKey(nowMs + 1, ""), limit });
    if (index.size === 0) return [];
    const records = await storage.get([...index.values()].map((id) => `s:${id}`));
    const due = [];
    const stale = [];
    for (const [key, id] of index) {
      const record = records.get(`s:${id}`);
      if (record === undefined || record.final || record.wakeAtMs !== wakeOf(key)) stale.push(key);
      else due.push([id, record.body]);
    }
    for (let i = 0; i < stale.length; i += MAX_KEYS) await storage.delete(stale.slice(i, i + MAX_KEYS));
    return due;
  }

  /**
   * Moves the wake-up of each session of `ids` that is still due at `nowMs` to `wakeAtMs`:
   * the sweep could not read them (a damaged record), and leaves them for an operator,
   * looked at again then rather than at every alarm.
   */
  async defer(ids, nowMs, wakeAtMs) {
    check(Array.isArray(ids) && ids.every((id) => typeof id === "string") && isCount(nowMs) && isCount(wakeAtMs));
    for (const id of ids) {
      const stored = await this.ctx.storage.get(`s:${id}`);
      if (stored === undefined || stored.final) continue;
      await this.#rewake(`s:${id}`, stored, nowMs, wakeAtMs, (at) => wakeKey(at, id), id);
    }
  }

  /**
   * Moves the wake-up of `stored` (under `key`, indexed under `indexKey(its wake-up)` with
   * `indexed` as the value) to `wakeAtMs`, if it is still due at `nowMs`.
   */
  async #rewake(key, stored, nowMs, wakeAtMs, indexKey, indexed) {
    if (stored.wakeAtMs === null || stored.wakeAtMs > nowMs) return;
    const storage = this.ctx.storage;
    // The delete not awaited before the put: they commit together, as in `swap`.
    const unindexed = storage.delete(indexKey(stored.wakeAtMs));
    await storage.put({ [key]: { ...stored, wakeAtMs }, [indexKey(wakeAtMs)]: indexed });
    await unindexed;
  }

  /** A payment's operations (JSON texts, oldest first) and its counter. */
  async operationsOf(paymentId) {
    check(typeof paymentId === "string");
    const storage = this.ctx.storage;
    const counter = (await storage.get(`q:${paymentId}`)) ?? 0;
    const page = await storage.list({ prefix: `p:${paymentId}:` });
    const records = [...page.values()].sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : 1));
    return { counter, bodies: records.map((r) => r.body) };
  }

  /**
   * Stores a new operation if the payment's counter is still `counter` (nothing was
   * inserted or swapped since the caller read and decided): "created", else "moved";
   * "no_payment" (nothing stored) when the payment is not stored.
   */
  async insertOperation(paymentId, counter, id, createdAtMs, version, settled, wakeAtMs, body) {
    check(typeof paymentId === "string" && isCount(counter) && typeof id === "string" && isCount(createdAtMs) &&
      isCount(version) && typeof settled === "boolean" && isWake(wakeAtMs) && typeof body === "string");
    const storage = this.ctx.storage;
    const [payment, current, taken] = await Promise.all([
      storage.get(`s:${paymentId}`), storage.get(`q:${paymentId}`), storage.get(opKey(paymentId, id)),
    ]);
    // A payment purged since the backend read it takes no operation.
    if (payment === undefined) return "no_payment";
    if ((current ?? 0) !== counter || taken !== undefined) return "moved";
    const changes = {
      [`q:${paymentId}`]: counter + 1,
      [opKey(paymentId, id)]: { id, createdAtMs, version, settled, wakeAtMs, body },
    };
    if (wakeAtMs !== null && !settled) changes[opWakeKey(wakeAtMs, paymentId, id)] = `${paymentId}:${id}`;
    await storage.put(changes);
    if (!settled) await this.#alarmBy(wakeAtMs);
    return "created";
  }

  /** Compare-and-set of an operation on its version; a settled one never changes. */
  async swapOperation(paymentId, id, expected, version, settled, wakeAtMs, body, events = []) {
    check(typeof paymentId === "string" && typeof id === "string" && isCount(expected) && isCount(version) &&
      typeof settled === "boolean" && isWake(wakeAtMs) && typeof body === "string" && isEvents(events));
    const storage = this.ctx.storage;
    const key = opKey(paymentId, id);
    const [stored, counter] = await Promise.all([storage.get(key), storage.get(`q:${paymentId}`)]);
    if (stored === undefined || stored.settled || stored.version !== expected || version !== expected + 1) {
      return false;
    }
    const changes = {
      [key]: { ...stored, version, settled, wakeAtMs, body },
      [`q:${paymentId}`]: (counter ?? 0) + 1,
    };
    const wanted = settled ? null : wakeAtMs;
    const before = stored.settled ? null : (stored.wakeAtMs ?? null);
    if (wanted !== null && wanted !== before) changes[opWakeKey(wanted, paymentId, id)] = `${paymentId}:${id}`;
    // The operation's webhook events (payment.captured, …), in the same put.
    enqueue(changes, events);
    const unindexed = before !== null && before !== wanted ? storage.delete(opWakeKey(before, paymentId, id)) : null;
    await storage.put(changes);
    await unindexed;
    await this.#alarmBy(wanted);
    for (const event of events) await this.#alarmBy(event.createdMs);
    return true;
  }

  /**
   * Up to `limit` unsettled operations due at `nowMs`, soonest first: each as
   * `[{paymentId}:{id}, its JSON text]` (the sweep defers one it cannot read by that key).
   */
  async dueOperations(nowMs, limit) {
    check(isCount(nowMs) && isCount(limit) && limit <= MAX_KEYS);
    const storage = this.ctx.storage;
    const index = await storage.list({ prefix: "x:", end: `x:${String(nowMs + 1).padStart(16, "0")}:`, limit });
    if (index.size === 0) return [];
    const records = await storage.get([...index.values()].map((ref) => `p:${ref}`));
    const due = [];
    const stale = [];
    for (const [key, ref] of index) {
      const record = records.get(`p:${ref}`);
      if (record === undefined || record.settled || record.wakeAtMs !== wakeOf(key)) stale.push(key);
      else due.push([ref, record.body]);
    }
    for (let i = 0; i < stale.length; i += MAX_KEYS) await storage.delete(stale.slice(i, i + MAX_KEYS));
    return due;
  }

  /**
   * As `defer`, for operations: each of `refs` is `{paymentId}:{id}`, as `dueOperations`
   * answers it.
   */
  async deferOperations(refs, nowMs, wakeAtMs) {
    check(Array.isArray(refs) && refs.every((ref) => typeof ref === "string") && isCount(nowMs) && isCount(wakeAtMs));
    for (const ref of refs) {
      const stored = await this.ctx.storage.get(`p:${ref}`);
      if (stored === undefined || stored.settled) continue;
      const paymentId = ref.slice(0, ref.indexOf(":"));
      await this.#rewake(`p:${ref}`, stored, nowMs, wakeAtMs, (at) => opWakeKey(at, paymentId, stored.id), ref);
    }
  }

  /**
   * The earliest wake-up time: the backend's sweep (when a session is due), then the
   * daily purge (when it is due); then the next alarm, at the earliest of the two.
   */
  async alarm() {
    const storage = this.ctx.storage;
    const now = Date.now();
    let swept = true;
    if ((await this.#earliestWake()) <= now) {
      try {
        initSync({ module: wasmModule });
        await sweep(this.env);
      } catch (error) {
        // The backend logged why (a configuration, the store); try again later.
        console.error(`threeds-bridge edge: the sweep failed: ${error?.message ?? error}`);
        swept = false;
      }
    }
    // Read after the sweep: an event it wrote (a payment it ended) goes out in this alarm.
    if ((await this.#earliestDelivery()) <= Date.now()) {
      try {
        initSync({ module: wasmModule });
        // Rounds while they find due rows (each claims a batch), within the budget.
        const stopAtMs = Date.now() + DELIVERY_BUDGET_MS;
        for (let round = 0; round < 10 && (await this.#earliestDelivery()) <= Date.now(); round++) {
          if (Date.now() >= stopAtMs || (await deliverWebhooks(this.env, stopAtMs)) === 0) break;
        }
      } catch (error) {
        console.error(`threeds-bridge edge: webhook delivery failed: ${error?.message ?? error}`);
        swept = false;
      }
    }
    let purgeAt = await storage.get(PURGE_AT);
    if (purgeAt !== undefined && now >= purgeAt) {
      purgeAt = (await this.#purge(now)) > 0 ? now + PURGE_EVERY_MS : undefined;
      if (purgeAt === undefined) await storage.delete(PURGE_AT);
      else await storage.put(PURGE_AT, purgeAt);
    }
    const wake = Math.min(await this.#earliestWake(), await this.#earliestDelivery());
    // From now, not from the alarm's start: a sweep that failed after minutes of provider
    // calls still waits its 60 s.
    const floor = Date.now() + (swept ? MIN_SWEEP_GAP_MS : RETRY_SWEEP_MS);
    const next = Math.min(wake === Infinity ? Infinity : Math.max(wake, floor), purgeAt ?? Infinity);
    if (next !== Infinity) await storage.setAlarm(next);
  }

  /** Moves the alarm earlier to `at` (a time, or null: nothing to do). */
  async #alarmBy(at) {
    if (at === null) return;
    const storage = this.ctx.storage;
    const current = await storage.getAlarm();
    if (current === null || at < current) await storage.setAlarm(at);
  }

  /** The earliest wake-up time in the sessions' and the operations' indexes, or Infinity. */
  async #earliestWake() {
    let earliest = Infinity;
    for (const prefix of ["w:", "x:"]) {
      const first = await this.ctx.storage.list({ prefix, limit: 1 });
      for (const key of first.keys()) earliest = Math.min(earliest, wakeOf(key));
    }
    return earliest;
  }

  /**
   * Every key of a payment's operations (records and counter; a settled one has no wake-up
   * entry), or null while one is not settled: then the payment is kept.
   */
  async #operationKeys(paymentId) {
    const records = await this.ctx.storage.list({ prefix: `p:${paymentId}:` });
    const keys = [`q:${paymentId}`];
    for (const [key, record] of records) {
      // An operation not settled yet (under way, in doubt, pending) keeps its payment: it
      // may be the only trace of money moved, and the sweep still has to settle it.
      if (!record.settled) return null;
      keys.push(key);
    }
    return keys;
  }

  /** The earliest next attempt in the webhook outbox, or Infinity. */
  async #earliestDelivery() {
    const first = await this.ctx.storage.list({ prefix: "d:", limit: 1 });
    for (const key of first.keys()) return Number(key.slice(2, 18));
    return Infinity;
  }

  /**
   * Deletes sessions past their retention, with everything filed under them (order index,
   * wake-up entry, operations), and the outbox rows sent or given up that are older than a
   * final session is kept (the record of what was sent; rows still to deliver are kept).
   * Answers how many sessions and rows remain (each keeps the daily purge going).
   */
  async #purge(now) {
    const sessions = await this.#deleteExpired("s:", async (key, record) => {
      if (now < record.expiresAtMs + (record.final ? KEEP_FINAL_MS : KEEP_UNFINISHED_MS)) return [];
      const id = key.slice(2);
      const operations = await this.#operationKeys(id);
      if (operations === null) return [];
      const keys = [key];
      // The order key only while it still names this session: after a purge cut off past
      // its delete, `create` may have given the order to a newer payment.
      const order = `o:${record.orderKey}`;
      if ((await this.ctx.storage.get(order)) === id) keys.push(order);
      if (isCount(record.wakeAtMs)) keys.push(wakeKey(record.wakeAtMs, id));
      // Its operations (and their counter) last: see #deleteExpired.
      return [...keys, ...operations];
    });
    const rows = await this.#deleteExpired("e:", async (key, row) =>
      row.done && now >= row.createdMs + KEEP_FINAL_MS ? [key] : []);
    return sessions + rows;
  }

  /**
   * Pages through the records under `prefix` and deletes, for each, the keys `expired`
   * names, the record's own first (none: the record is kept). Answers how many were kept.
   *
   * A record goes with everything it owns in one delete (one write; several records share
   * one, at most 128 keys), so an alarm cut off between two deletes never leaves a record
   * without what it owns. A payment left without its operations and their counter would be
   * admitted a second capture or refund of money already moved, and one left without its
   * order key would let a second payment take its order. Only a record that owns more than
   * one delete holds (a payment of over 125 operations) goes over several, itself in the
   * first: a cut-off then leaves operations no payment points to, which take nothing
   * (`insertOperation` answers "no_payment").
   */
  async #deleteExpired(prefix, expired) {
    const storage = this.ctx.storage;
    let kept = 0;
    let startAfter;
    let batch = [];
    const flush = async () => {
      if (batch.length > 0) await storage.delete(batch);
      batch = [];
    };
    for (;;) {
      const page = await storage.list({ prefix, startAfter, limit: 500 });
      if (page.size === 0) {
        await flush();
        return kept;
      }
      for (const [key, record] of page) {
        startAfter = key;
        const keys = await expired(key, record);
        if (keys.length === 0) {
          kept += 1;
          continue;
        }
        if (batch.length + keys.length > MAX_KEYS) await flush();
        for (let i = 0; i < keys.length; i += MAX_KEYS) {
          batch.push(...keys.slice(i, i + MAX_KEYS));
          if (batch.length >= MAX_KEYS) await flush();
        }
      }
    }
  }

  /**
   * Once per object: sessions stored before the wake-up index existed are indexed at their
   * expiry (as the native store's migration does), so the sweep finds them.
   */
  async #indexOlderSessions() {
    const storage = this.ctx.storage;
    if ((await storage.get(WAKE_INDEXED)) === true) return;
    let earliest = null;
    let startAfter;
    for (;;) {
      const page = await storage.list({ prefix: "s:", startAfter, limit: 500 });
      if (page.size === 0) break;
      const writes = [];
      for (const [key, record] of page) {
        startAfter = key;
        if (record.final || record.wakeAtMs !== undefined) continue;
        const id = key.slice(2);
        writes.push([key, { ...record, wakeAtMs: record.expiresAtMs }], [wakeKey(record.expiresAtMs, id), id]);
        earliest = Math.min(earliest ?? Infinity, record.expiresAtMs);
      }
      for (let i = 0; i < writes.length; i += MAX_KEYS) {
        await storage.put(Object.fromEntries(writes.slice(i, i + MAX_KEYS)));
      }
    }
    await storage.put(WAKE_INDEXED, true);
    await this.#alarmBy(earliest);
  }
}

// Adds the outbox rows of `events` to a put's `changes`: each row, and its place in the
// queue of next attempts.
function enqueue(changes, events) {
  for (const event of events) {
    const row = rowKey(event.eventId, event.endpoint);
    changes[row] = { ...event, attempts: 0, nextAttemptAtMs: event.createdMs, done: false };
    changes[queueKey(event.createdMs, row)] = row;
  }
}

function check(ok) {
  if (!ok) throw new TypeError("ThreedsSessions: bad arguments");
}
