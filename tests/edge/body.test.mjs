// Bodies the edge worker must not take in whole. A request body over the API's 64 KB sent
// in chunks, with no declared length, which neither the framing nor Cloudflare's own limits
// bound to anything the isolate's memory survives: the worker answers 413 body_too_large
// having read no more of it than the limit. And a provider's answer (or a webhook
// endpoint's) that never ends, declares more than 1 MiB, or is gzip that unpacks to far
// more: read to its first MiB and left. In workerd (miniflare) the
// answers; in plain Node.js (tests/edge/in-node.mjs, the same wasm) that the wasm's memory,
// which never shrinks, did not take the body in and that the rest was never read.
// Run by `make test-edge`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

import { LOCAL_MERCHANT_KEY, sandboxConfig, startWorker } from "../../examples/edge-worker/miniflare.mjs";
import { importAsWorkerd, workerInNode } from "./in-node.mjs";
import { CHECKOUT, PAGE_HEADERS, confirmBody, createBody, freePort } from "./support.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const LIMIT = 64 * 1024;
const MERCHANT = { "content-type": "application/json", authorization: `Bearer ${LOCAL_MERCHANT_KEY}` };

/** A stream of `chunks`, one at a time, as a client sends a body it does not know the length of. */
function streamOf(chunks) {
  const left = [...chunks];
  return new ReadableStream({
    pull(controller) {
      if (left.length === 0) controller.close();
      else controller.enqueue(new Uint8Array(left.shift()));
    },
  });
}

/**
 * `POST path` to `base` with `chunks` sent chunked (no Content-Length): `{ status, body }`.
 * Over a raw socket: the worker may answer before the body is all sent and then reset the
 * connection, which a fetch client reports as a failed fetch (it was writing); what counts
 * is the answer, which arrives before the reset.
 */
function postChunked(base, path, chunks) {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    const received = [];
    socket.on("data", (data) => received.push(data));
    socket.on("error", () => {}); // a reset after the answer; judged by what was received
    socket.on("close", () => {
      const text = Buffer.concat(received).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`POST ${path}: no answer (${received.length} packets)`));
      const head = text.slice(0, end);
      let body = text.slice(end + 4);
      if (/^transfer-encoding: *chunked/im.test(head)) {
        let decoded = "";
        for (let at = 0; ;) {
          const line = body.indexOf("\r\n", at);
          const size = parseInt(body.slice(at, line), 16);
          if (!(size > 0)) break;
          decoded += body.slice(line + 2, line + 2 + size);
          at = line + 2 + size + 2;
        }
        body = decoded;
      }
      resolve({ status: Number(head.split(" ")[1]), body: JSON.parse(Buffer.from(body, "latin1").toString("utf8")) });
    });
    const head = Object.entries({ host: `127.0.0.1:${port}`, ...MERCHANT, "transfer-encoding": "chunked", connection: "close" })
      .map(([name, value]) => `${name}: ${value}\r\n`).join("");
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
    for (const chunk of chunks) socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]));
    socket.write("0\r\n\r\n");
  });
}

/** A create body (an order of its own) as JSON text. */
const createText = () => JSON.stringify(createBody("paysafe"));

/** `count` chunks of `size` bytes of spaces: valid JSON whitespace, as long as wanted. */
const spaces = (count, size) => Array.from({ length: count }, () => Buffer.alloc(size, 0x20));

let worker;

before(async () => {
  const port = await freePort();
  // No provider is called: a sandbox URL nobody answers at.
  const config = sandboxConfig({ publicUrl: `http://127.0.0.1:${port}`, sandboxUrl: "http://127.0.0.1:9", checkoutOrigins: [CHECKOUT] });
  worker = await startWorker({ port, config });
});

after(async () => {
  await worker?.mf.dispose();
});

test("workerd: a chunked body over 64 KB is refused 413, and a chunked create under it is taken", async () => {
  const big = await postChunked(worker.url, "/v1/payments", spaces(64, 16 * 1024)); // 1 MB
  assert.equal(big.status, 413, JSON.stringify(big.body));
  assert.equal(big.body.error.code, "body_too_large");

  // Exactly the limit in chunks, the body then the padding: still read, still a payment.
  const text = createText();
  const padded = await postChunked(worker.url, "/v1/payments", [Buffer.from(text), Buffer.alloc(LIMIT - text.length, 0x20)]);
  assert.equal(padded.status, 201, JSON.stringify(padded.body));
  assert.match(padded.body.id, /^[0-9a-f]{32}$/);

  // One byte more is refused, and creates nothing.
  const overText = createText();
  const refused = await postChunked(worker.url, "/v1/payments", [Buffer.from(overText), Buffer.alloc(LIMIT + 1 - overText.length, 0x20)]);
  assert.equal(refused.status, 413, JSON.stringify(refused.body));
  const again = await postChunked(worker.url, "/v1/payments", [Buffer.from(overText)]);
  assert.equal(again.status, 201, `the refused order was not stored: ${JSON.stringify(again.body)}`);

  // A declared length over the limit is refused without reading the body.
  const declared = await fetch(`${worker.url}/v1/payments`, { method: "POST", headers: MERCHANT, body: Buffer.alloc(LIMIT + 1, 0x20) });
  assert.equal(declared.status, 413);
  assert.equal((await declared.json()).error.code, "body_too_large");
});

// A regression would read on and on: each in-Node test fails after a minute rather than hang.
const IN_NODE = { timeout: 60_000 };

describe("in Node", () => {
  // Every provider's API: 200, then spaces, 64 KB every 2 ms, for as long as anyone reads,
  // with no declared length; or with the head a test sets (`answerHead`), or the whole
  // answer it sets (`answerWith`).
  let written = 0;
  let answerHead = {};
  let answerWith = null;
  const provider = http.createServer((request, answer) => {
    if (answerWith) return answerWith(answer);
    answer.writeHead(200, { "content-type": "application/json", ...answerHead });
    const spaces = Buffer.alloc(64 * 1024, 0x20);
    const timer = setInterval(() => {
      if (answer.destroyed) return clearInterval(timer);
      answer.write(spaces);
      written += spaces.length;
    }, 2);
    answer.on("close", () => clearInterval(timer));
  });
  /** The worker, once: its wasm builds the backend from the first env it is given. */
  let inNode;
  let memory;

  before(async () => {
    const port = await new Promise((done) => provider.listen(0, "127.0.0.1", () => done(provider.address().port)));
    importAsWorkerd();
    inNode = await workerInNode(`${root}examples/edge-worker/worker.js`, `http://127.0.0.1:${port}`);
    assert.equal((await inNode.fetch("/healthz")).status, 200);
    const { initSync } = await import(`${root}pkg/edge/threeds_bridge_edge.js`);
    memory = initSync().memory; // the instance the worker's first request made
  });

  after(async () => {
    provider.closeAllConnections();
    await new Promise((done) => provider.close(done));
  });

  test("the wasm's memory does not take in a chunked 16 MB body, and the rest of it is never read", IN_NODE, async () => {
    const before = memory.buffer.byteLength;
    const CHUNK = 64 * 1024;
    const CHUNKS = 256; // 16 MB
    let pulled = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (pulled === CHUNKS) return controller.close();
        pulled += 1;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
    });
    const answer = await inNode.fetch("/v1/payments", { method: "POST", headers: MERCHANT, body, duplex: "half" });
    assert.equal(answer.status, 413);
    assert.equal((await answer.json()).error.code, "body_too_large");
    const grown = memory.buffer.byteLength - before;
    assert.ok(grown < 2 * 1024 * 1024, `the wasm's memory grew by ${grown} bytes for a 16 MB body`);
    assert.ok(pulled < CHUNKS / 4, `${pulled} of ${CHUNKS} chunks were read`);

    // The chunked path reads a body under the limit whole.
    const small = streamOf([Buffer.from(createText())]);
    const created = await inNode.fetch("/v1/payments", { method: "POST", headers: MERCHANT, body: small, duplex: "half" });
    assert.equal(created.status, 201, await created.clone().text());
  });

  test("a provider's answer that never ends is read to its first MiB and left", IN_NODE, async () => {
    const created = await inNode.fetch("/v1/payments", { method: "POST", headers: MERCHANT, body: createText() });
    assert.equal(created.status, 201);
    const { id, clientSecret } = await created.json();
    const before = memory.buffer.byteLength;

    const confirm = JSON.stringify(confirmBody(clientSecret, "4000000000001000", "iframe"));
    const answer = await inNode.fetch(`/v1/payments/${id}/confirm`, { method: "POST", headers: PAGE_HEADERS, body: confirm });
    const view = await answer.json();
    // Paysafe's token answer, cut, reads as no JSON: no token, nothing charged, said so.
    assert.equal(view.result?.error?.code, "provider_bad_response", JSON.stringify(view));
    assert.ok(written >= 1024 * 1024, `the provider sent ${written} bytes: it was called`);
    assert.ok(written < 64 * 1024 * 1024, `${written} bytes of answer sent before the worker left it`);
    const grown = memory.buffer.byteLength - before;
    assert.ok(grown < 8 * 1024 * 1024, `the wasm's memory grew by ${grown} bytes`);
  });

  /** A Paysafe frictionless confirm of a new payment against the provider as set: its view. */
  async function confirmAgainstProvider() {
    const created = await inNode.fetch("/v1/payments", { method: "POST", headers: MERCHANT, body: createText() });
    assert.equal(created.status, 201);
    const { id, clientSecret } = await created.json();
    const confirm = JSON.stringify(confirmBody(clientSecret, "4000000000001000", "iframe"));
    const answer = await inNode.fetch(`/v1/payments/${id}/confirm`, { method: "POST", headers: PAGE_HEADERS, body: confirm });
    return answer.json();
  }

  // An answer of declared length within the limit is read in one call: one that declares
  // more than the limit must not be, or the worker would wait for (and hold) all of it.
  test("a provider's answer that declares 64 MiB is read to its first MiB and left", IN_NODE, async () => {
    written = 0;
    answerHead = { "content-length": String(64 * 1024 * 1024) };
    try {
      const view = await confirmAgainstProvider();
      assert.equal(view.result?.error?.code, "provider_bad_response", JSON.stringify(view));
      assert.ok(written >= 1024 * 1024, `the provider sent ${written} bytes: it was called`);
      assert.ok(written < 32 * 1024 * 1024, `${written} bytes of answer sent before the worker left it`);
    } finally {
      answerHead = {};
    }
  });

  // Nor one whose body is encoded: fetch decodes it, and about 510 KB of gzip declared is
  // 512 MiB read. Read chunk by chunk, the worker stops at its first MiB; read in one call,
  // this process would hold all of it (its peak memory is what shows it).
  test("a gzip answer that unpacks to 512 MiB is read to its first MiB, never whole", IN_NODE, async () => {
    const packer = zlib.createGzip({ level: 9 });
    const packed = [];
    packer.on("data", (chunk) => packed.push(chunk));
    const unpacked = Buffer.alloc(1024 * 1024, 0x20);
    for (let i = 0; i < 512; i += 1) packer.write(unpacked);
    await new Promise((done) => packer.end(done));
    const bomb = Buffer.concat(packed);
    answerWith = (answer) => {
      answer.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": bomb.length });
      answer.end(bomb);
    };
    try {
      const peakBefore = process.resourceUsage().maxRSS * 1024;
      const view = await confirmAgainstProvider();
      assert.equal(view.result?.error?.code, "provider_bad_response", JSON.stringify(view));
      const peakRise = process.resourceUsage().maxRSS * 1024 - peakBefore;
      assert.ok(peakRise < 256 * 1024 * 1024, `this process's peak memory rose by ${peakRise} bytes`);
    } finally {
      answerWith = null;
    }
  });
});
