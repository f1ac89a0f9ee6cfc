// The npm README's example, exactly as written, run as plain ES modules in headless
// Chromium under the strict CSP the README documents. Only two things are swapped: the
// bare specifier "threeds-bridge" for the built pkg/ file (what a bundler or an import map
// would do), and the backend URL for a port where nothing listens, so that the example's
// own error path runs: pay() rejects with code "network" and the page shows status error.
// Whole payments against the real backend are the end-to-end suite's.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const root = new URL("../", import.meta.url);
const readme = await readFile(new URL("pkg/README.md", root), "utf8");
const example = /## Example\s+```js\n([\s\S]*?)```/.exec(readme)?.[1];

function closedPort() {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test("the README example runs in Chromium under the documented CSP", async () => {
  assert.ok(example, "pkg/README.md has a ```js example under ## Example");
  assert.match(example, /from "threeds-bridge"/);
  const backend = `http://127.0.0.1:${await closedPort()}`;
  const app = example
    .replace('from "threeds-bridge"', 'from "/pkg/threeds_bridge.js"')
    .replace("http://127.0.0.1:8080", backend);
  const csp = [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src 'self' ${backend}`,
    `frame-src ${backend}`,
    `form-action ${backend}`,
  ].join("; ");
  const page = '<!doctype html><div id="challenge"></div><div id="result"></div>' +
    '<script type="module" src="/app.js"></script>';
  const types = { js: "text/javascript", wasm: "application/wasm" };
  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/html", "content-security-policy": csp });
        return response.end(page);
      }
      if (path === "/app.js") {
        response.writeHead(200, { "content-type": types.js });
        return response.end(app);
      }
      if (path.startsWith("/pkg/") && !path.includes("..")) {
        const body = await readFile(new URL(path.slice(1), root));
        response.writeHead(200, { "content-type": types[path.split(".").pop()] ?? "text/plain" });
        return response.end(body);
      }
    } catch {}
    response.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const tab = await browser.newPage();
    const console = [];
    tab.on("console", (message) => console.push(message.text()));
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 15000 });
    assert.equal(await tab.getAttribute("#result", "data-status"), "error");
    assert.deepEqual(errors, []);
    assert.ok(!console.some((line) => /Content Security Policy|Refused/.test(line)), console.join("\n"));
    // The example logs each event as "type at"; the browser's own network errors are not logs.
    const events = console.filter((line) => /^[a-z-]+ \d+$/.test(line)).map((line) => line.split(" ")[0]);
    assert.deepEqual(events, ["browser-details", "authorizing"]);
    const code = await tab.evaluate(async () => {
      const { ThreeDSecure } = await import("/pkg/threeds_bridge.js");
      const details = ThreeDSecure.collectBrowserDetails();
      return [details.colorDepth, typeof details.timeZone, details.language.length <= 8];
    });
    assert.deepEqual(code, [24, "number", true]);

    // Figures for the report (not asserted: timing belongs to a benchmark, not a test).
    const figures = await tab.evaluate(async () => {
      const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
      const init = [];
      for (let i = 0; i < 11; i++) {
        const glue = await import(`/pkg/threeds_bridge.js?run=${i}`);
        const t = performance.now();
        await glue.default({ module_or_path: `/pkg/threeds_bridge_bg.wasm?run=${i}` });
        init.push(performance.now() - t);
      }
      const { ThreeDSecure } = await import("/pkg/threeds_bridge.js");
      const t = performance.now();
      for (let i = 0; i < 1000; i++) ThreeDSecure.collectBrowserDetails();
      return { fetchCompileInstantiateMs: median(init), collectBrowserDetailsMs: (performance.now() - t) / 1000 };
    });
    process.stdout.write(`# figures ${JSON.stringify(figures)}\n`);
  } finally {
    await browser.close();
    server.close();
  }
});
