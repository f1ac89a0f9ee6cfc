// make bench-browser: a fresh page → its EMV browser details, the module (pkg/, as
// `make pkg` built it) against a plain-JavaScript collector with the same EMV rules
// (bench/baseline-details.js, held to the same vectors by tests/bench_baseline.test.mjs).
// One headless Chromium (playwright-core, as tests/e2e), files served gzipped from
// 127.0.0.1, every load cold: a new browser context (its own empty cache) with the cache
// disabled. Loads alternate so that all see the same machine; the module is timed twice:
// as a page includes it, and with the wasm preloaded (<link rel="preload">). The time
// is the page's own performance.now() when the details are in hand, i.e. from the start
// of navigation. Prints a table (gzip bytes, median and p90 ms, ratio to the baseline);
// asserts nothing (not part of `make test`). BENCH_LOADS=N for another count (default 40).
import http from "node:http";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const root = new URL("../", import.meta.url);
const LOADS = Number(process.env.BENCH_LOADS ?? 40);
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

// What each page downloads besides itself, and the page.
const files = {
  "/threeds_bridge.js": ["pkg/threeds_bridge.js", "text/javascript"],
  "/threeds_bridge_bg.wasm": ["pkg/threeds_bridge_bg.wasm", "application/wasm"],
  "/baseline-details.js": ["bench/baseline-details.js", "text/javascript"],
};
const done = "document.body.dataset.details = JSON.stringify(details); document.body.dataset.ms = String(ms);";
const ours = `<script type="module">
import init, { ThreeDSecure } from "/threeds_bridge.js";
await init();
const details = ThreeDSecure.collectBrowserDetails();
const ms = performance.now();
${done}
</script>`;
const pages = {
  "/ours.html": `<!doctype html><meta charset="utf-8"><body>${ours}`,
  // The same page telling the browser about the wasm up front, so that it is fetched
  // beside the glue rather than after it.
  "/ours-preload.html": `<!doctype html><meta charset="utf-8">
<link rel="preload" href="/threeds_bridge_bg.wasm" as="fetch" crossorigin><body>${ours}`,
  "/baseline.html": `<!doctype html><meta charset="utf-8"><body><script type="module">
import { collectBrowserDetails } from "/baseline-details.js";
const details = collectBrowserDetails();
const ms = performance.now();
${done}
</script>`,
};
const libraries = [
  { name: "plain-JS baseline, same EMV rules", page: "/baseline.html", files: ["/baseline-details.js"] },
  { name: "threeds-bridge (wasm + glue)", page: "/ours.html", files: ["/threeds_bridge.js", "/threeds_bridge_bg.wasm"] },
  { name: "threeds-bridge, wasm preloaded", page: "/ours-preload.html", files: ["/threeds_bridge.js", "/threeds_bridge_bg.wasm"] },
];

async function serve() {
  const bodies = new Map();
  for (const [path, [file, type]] of Object.entries(files)) {
    bodies.set(path, [gzipSync(await readFile(new URL(file, root)), { level: 9 }), type]);
  }
  for (const [path, html] of Object.entries(pages)) bodies.set(path, [gzipSync(html, { level: 9 }), "text/html"]);
  const server = http.createServer((request, response) => {
    const found = bodies.get(new URL(request.url, "http://x").pathname);
    if (!found) return response.writeHead(404).end();
    response.writeHead(200, { "content-type": found[1], "content-encoding": "gzip", "cache-control": "no-store" });
    response.end(found[0]);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, bodies, origin: `http://127.0.0.1:${server.address().port}` };
}

async function coldLoad(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    const errors = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(url);
    await page.waitForSelector("body[data-ms]", { state: "attached", timeout: 15000 }).catch(() => {
      throw new Error(`${url}: no details (${errors.join("; ")})`);
    });
    return {
      ms: Number(await page.getAttribute("body", "data-ms")),
      details: JSON.parse(await page.getAttribute("body", "data-details")),
    };
  } finally {
    await context.close();
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

const { server, bodies, origin } = await serve();
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
try {
  // Equal work: both must answer the same details in this browser.
  const answers = [];
  for (const library of libraries) answers.push(JSON.stringify((await coldLoad(browser, origin + library.page)).details));
  if (new Set(answers).size !== 1) throw new Error(`the collectors disagree:\n${answers.join("\n")}`);
  const times = libraries.map(() => []);
  for (let i = 0; i < LOADS; i++) {
    for (const [index, library] of libraries.entries()) {
      times[index].push((await coldLoad(browser, origin + library.page)).ms);
    }
  }
  const rows = libraries.map((library, index) => {
    const sorted = times[index].sort((a, b) => a - b);
    const gzip = library.files.reduce((sum, path) => sum + bodies.get(path)[0].length, 0);
    return { name: library.name, gzip, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
  });
  const base = rows[0].median;
  console.log(`bench-browser: fresh page → browser details, ${LOADS} cold loads each, cache disabled, files gzipped from 127.0.0.1 (Chromium ${browser.version()})`);
  console.log("| library | gzip bytes | median ms | p90 ms | ratio (median) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.gzip.toLocaleString("en")} | ${row.median.toFixed(1)} | ${row.p90.toFixed(1)} | ${(row.median / base).toFixed(2)}× |`);
  }
} finally {
  await browser.close();
  server.close();
}
