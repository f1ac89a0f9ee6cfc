// The checkout module's memory in a real page (headless Chromium, pkg/ as built): after
// init(), and after it has read the browser details and run a payment to its error, the
// wasm memory is at most 256 KiB. Rust's default stack alone is 1 MiB; the package is
// linked with a 64 KiB stack (the Makefile's PKG_RUSTFLAGS), which this also proves is
// enough for the module's deepest use: a whole pay() that reads the page, builds the
// confirm and fails at fetch (a closed port: "network").
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const pkg = new URL("../pkg/", import.meta.url);
const MAX_MEMORY = 256 * 1024;
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

function closedPort() {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const page = (backend) => `<!doctype html><script type="module">
import init, { ThreeDSecure } from "/threeds_bridge.js";
const wasm = await init();
const memory = () => wasm.memory.buffer.byteLength;
const afterInit = memory();
ThreeDSecure.collectBrowserDetails();
const code = await new ThreeDSecure({ backendUrl: ${JSON.stringify(backend)} })
  .pay({ clientSecret: "0123456789abcdef0123456789abcdef_secret_00112233445566778899aabbccddeeff",
         paymentMethod: { type: "token", token: "t" } })
  .then(() => "resolved", (error) => error.code);
document.body.dataset.result = JSON.stringify({ afterInit, afterPay: memory(), code });
</script>`;

test("the module's wasm memory stays within 256 KiB after init and a payment", async () => {
  const backend = `http://127.0.0.1:${await closedPort()}`;
  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    if (path === "/") return response.writeHead(200, { "content-type": "text/html" }).end(page(backend));
    try {
      if (path.includes("..")) throw new Error("no");
      const body = await readFile(new URL(`.${path}`, pkg));
      response.writeHead(200, { "content-type": types[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const tab = await browser.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForSelector("body[data-result]", { state: "attached", timeout: 15000 });
    assert.deepEqual(errors, []);
    const { afterInit, afterPay, code } = JSON.parse(await tab.getAttribute("body", "data-result"));
    assert.equal(code, "network", "the payment ran to its fetch");
    assert.ok(afterInit <= MAX_MEMORY, `memory after init: ${afterInit} B`);
    assert.ok(afterPay <= MAX_MEMORY, `memory after a payment: ${afterPay} B`);
  } finally {
    await browser.close();
    server.close();
  }
});
