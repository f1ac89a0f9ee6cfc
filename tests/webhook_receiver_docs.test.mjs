// docs/backend/webhooks.md's Node receiver, exactly as written, run as the merchant's module:
// it accepts the signature the backend computes (the vector src/backend/webhooks/sign.rs's
// unit test checks, computed independently with openssl), refuses a wrong, stale or
// unsigned delivery with `ok: false`, dedupes by event id, and answers a forged header of
// non-ASCII characters with `ok: false` rather than throwing (an exception there would be an
// unhandled rejection in an async handler, which ends a Node process).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const docs = await readFile(new URL("../docs/backend/webhooks.md", import.meta.url), "utf8");
const receiver = /### Node[^\n]*\n+```js\n([\s\S]*?)```/.exec(docs)?.[1];

// The vector of sign.rs's `signature_is_hmac_sha256_of_id_timestamp_body`.
const SECRET = "whsec_test_secret_0123456789";
const ID = "evt_1";
const TIMESTAMP = "1700000000";
const BODY = '{"a":1}';
const SIGNATURE = "v1=375f1e18c4ac8f7fd9181499213c3fea36e227fecf9dc3d8fa3f4edfd7854d73";
const NOW = 1_700_000_000;

/** The documented module, imported fresh (its own set of seen ids) with `SECRET` set. */
async function documentedReceiver() {
  assert.ok(receiver, "docs/backend/webhooks.md has a Node receiver");
  const dir = await mkdtemp(join(tmpdir(), "webhook-receiver-"));
  const file = join(dir, "receiver.mjs");
  await writeFile(file, receiver);
  const saved = process.env.WEBHOOK_SECRET;
  process.env.WEBHOOK_SECRET = SECRET;
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    if (saved === undefined) delete process.env.WEBHOOK_SECRET;
    else process.env.WEBHOOK_SECRET = saved;
    await rm(dir, { recursive: true, force: true });
  }
}

function headers(signature, timestamp = TIMESTAMP, id = ID) {
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}

test("the documented receiver accepts the backend's signature once, then as a duplicate", async () => {
  const { verifyWebhook } = await documentedReceiver();
  // A sender rotating secrets signs twice: one matching entry is enough.
  const rotating = `v1=${"0".repeat(64)} ${SIGNATURE}`;
  assert.deepEqual(verifyWebhook(headers(rotating), Buffer.from(BODY), NOW),
    { ok: true, event: { a: 1 } });
  assert.deepEqual(verifyWebhook(headers(SIGNATURE), BODY, NOW), { ok: true, duplicate: true });
});

test("the documented receiver refuses a wrong, stale or unsigned delivery", async () => {
  const { verifyWebhook } = await documentedReceiver();
  const wrong = SIGNATURE.slice(0, -1) + (SIGNATURE.endsWith("3") ? "4" : "3");
  assert.equal(verifyWebhook(headers(wrong), BODY, NOW).why, "bad signature");
  assert.equal(verifyWebhook(headers(SIGNATURE), '{"a":2}', NOW).why, "bad signature");
  assert.equal(verifyWebhook(headers(SIGNATURE), BODY, NOW + 301).why, "stale timestamp");
  assert.equal(verifyWebhook({ "webhook-id": ID, "webhook-timestamp": TIMESTAMP }, BODY, NOW).why,
    "bad signature");
  assert.equal(verifyWebhook(headers(SIGNATURE, "17e8"), BODY, NOW).why, "missing headers");
});

test("a forged signature of non-ASCII characters is refused, not thrown", async () => {
  const { verifyWebhook } = await documentedReceiver();
  // As Node's http parser hands header bytes to a handler: one character per byte, so 64
  // of them pass a length check in characters but are 128 bytes in UTF-8.
  for (const forged of ["\u00e9".repeat(64), "\u00ff".repeat(64), "\u00e9".repeat(32)]) {
    let answer;
    assert.doesNotThrow(() => { answer = verifyWebhook(headers(`v1=${forged}`), BODY, NOW); });
    assert.deepEqual(answer, { ok: false, why: "bad signature" });
  }
});
