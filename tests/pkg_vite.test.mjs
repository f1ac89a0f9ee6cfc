// The packed npm package (`npm pack pkg`) installed into a tiny Vite app, built by Vite and
// run in headless Chromium: the bare import resolves through package.json "exports", Vite
// finds and emits the .wasm from the glue's `new URL(..., import.meta.url)`, init() loads
// it, collectBrowserDetails() answers, and pay() reaches fetch (a closed port: "network").
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, extname } from "node:path";
import { build } from "vite";
import { chromium } from "playwright-core";

const root = new URL("../", import.meta.url);

function closedPort() {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test("the packed package works in a Vite app", async () => {
  const app = await mkdtemp(join(tmpdir(), "threeds-vite-"));
  try {
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", app, "./pkg"], {
      cwd: root,
      encoding: "utf8",
    }).trim().split("\n").pop();
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", join(app, packed)], { cwd: app });
    const backend = `http://127.0.0.1:${await closedPort()}`;
    await writeFile(join(app, "index.html"), '<!doctype html><script type="module" src="/main.js"></script>');
    await writeFile(join(app, "main.js"), `
import init, { ThreeDSecure } from "threeds-bridge";
await init();
const details = ThreeDSecure.collectBrowserDetails();
document.body.dataset.colorDepth = String(details.colorDepth);
new ThreeDSecure({ backendUrl: ${JSON.stringify(backend)} })
  .pay({ clientSecret: "0123456789abcdef0123456789abcdef_secret_00112233445566778899aabbccddeeff",
         paymentMethod: { type: "token", token: "t" } })
  .catch((error) => { document.body.dataset.code = error.code; });
`);
    await build({ root: app, logLevel: "silent", build: { outDir: join(app, "dist"), target: "es2022" } });

    const dist = join(app, "dist");
    const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
    const server = http.createServer(async (request, response) => {
      const path = new URL(request.url, "http://x").pathname;
      const file = path === "/" ? "/index.html" : path;
      try {
        if (file.includes("..")) throw new Error("no");
        const body = await readFile(join(dist, file));
        response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
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
      await tab.waitForSelector("body[data-code]", { state: "attached", timeout: 15000 });
      assert.deepEqual(errors, []);
      assert.equal(await tab.getAttribute("body", "data-code"), "network");
      assert.equal(await tab.getAttribute("body", "data-color-depth"), "24");
    } finally {
      await browser.close();
      server.close();
    }
  } finally {
    await rm(app, { recursive: true, force: true });
  }
});
