// ThreedsSessions: the Durable Object that holds the edge backend's payment sessions.
//
// Why a Durable Object and not Workers KV: docs/edge.md. One instance per name runs one
// event at a time, and while one of its storage calls is pending no other event is
// delivered to it (input gates), so the read, the comparison and the write of `swap`
// below happen with nothing in between: compare-and-set, as SessionStore requires.
//
// It keeps each session's JSON text (written and read by the Rust core's edge host,
// src/backend/edge/durable.rs) with the two numbers it compares on, plus the (provider,
// order id) index.
// It never parses a session, and holds no card data (a session has none).
import { DurableObject } from "cloudflare:workers";

const DAY_MS = 24 * 60 * 60 * 1000;
// As the native SQLite store (docs/backend/store.md): a final session is kept 30 days past
// its expiry, an unfinished one 90 (it may be the only trace of a call that moved money).
const KEEP_FINAL_MS = 30 * DAY_MS;
const KEEP_UNFINISHED_MS = 90 * DAY_MS;
const PURGE_EVERY_MS = DAY_MS;

const isCount = (n) => Number.isSafeInteger(n) && n >= 0;

export class ThreedsSessions extends DurableObject {
  /** Stores a new session: "created", or "duplicate" if its id or its order is taken. */
  async create(id, orderKey, version, isFinal, expiresAtMs, body) {
    check(typeof id === "string" && typeof orderKey === "string" && isCount(version) &&
      typeof isFinal === "boolean" && isCount(expiresAtMs) && typeof body === "string");
    const storage = this.ctx.storage;
    const taken = await storage.get([`s:${id}`, `o:${orderKey}`]);
    if (taken.size > 0) return "duplicate";
    await storage.put({
      [`s:${id}`]: { version, final: isFinal, expiresAtMs, orderKey, body },
      [`o:${orderKey}`]: id,
    });
    if ((await storage.getAlarm()) === null) {
      await storage.setAlarm(Date.now() + PURGE_EVERY_MS);
    }
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
   */
  async swap(id, expected, version, isFinal, expiresAtMs, body) {
    check(typeof id === "string" && isCount(expected) && isCount(version) &&
      typeof isFinal === "boolean" && isCount(expiresAtMs) && typeof body === "string");
    const storage = this.ctx.storage;
    const stored = await storage.get(`s:${id}`);
    if (stored === undefined || stored.final || stored.version !== expected || version !== expected + 1) {
      return false;
    }
    await storage.put(`s:${id}`, { ...stored, version, final: isFinal, expiresAtMs, body });
    return true;
  }

  /** Daily: deletes sessions past their retention, and their order index entries. */
  async alarm() {
    const storage = this.ctx.storage;
    const now = Date.now();
    let remaining = 0;
    let startAfter;
    for (;;) {
      const page = await storage.list({ prefix: "s:", startAfter, limit: 500 });
      if (page.size === 0) break;
      const doomed = [];
      for (const [key, record] of page) {
        const keep = record.final ? KEEP_FINAL_MS : KEEP_UNFINISHED_MS;
        if (now >= record.expiresAtMs + keep) doomed.push(key, `o:${record.orderKey}`);
        else remaining += 1;
        startAfter = key;
      }
      // delete() takes at most 128 keys a call.
      for (let i = 0; i < doomed.length; i += 128) await storage.delete(doomed.slice(i, i + 128));
    }
    if (remaining > 0) await storage.setAlarm(now + PURGE_EVERY_MS);
  }
}

function check(ok) {
  if (!ok) throw new TypeError("ThreedsSessions: bad arguments");
}
