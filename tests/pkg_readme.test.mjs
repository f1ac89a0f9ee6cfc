// The npm README's parts, exactly as written. Its install steps run first: `npm pack ./pkg`
// (the package `make pkg` built: `make test-pkg` has just built it) and `npm install` of
// the tarball into a scratch project; the page gets the package from there. The page
// example runs as a plain ES module in headless Chromium, served on another origin than
// the backend with exactly the README's Content-Security-Policy (its placeholders filled
// in); the server example runs in this Node process as the merchant's server module. Only
// what a merchant would fill in is swapped: the bare specifier "threeds-bridge" for the
// installed package's file (what a bundler or an import map does), the backend URL, the
// CSP's origins, and the API key's environment variable.
//
// 1. Against a port where nothing listens: the page example's own error path (pay()
//    rejects with code "network", the page shows status error), and the timing figures.
// 2. Against a real backend (`threeds-bridge serve` with the sandbox): the server example
//    creates the payment, the page example pays it, the server example's keyed read says it
//    is paid; the key never crosses into the page. Then the README's CORS note: the same
//    page opened as http://localhost (not a configured origin) gets only "network", and the
//    backend's log names checkout_origins.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const root = new URL("../", import.meta.url);
const readme = await readFile(new URL("pkg/README.md", root), "utf8");
const pageExample = /### Your checkout page\s+```js\n([\s\S]*?)```/.exec(readme)?.[1];
const serverExample = /### Your server[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
const installSteps = /## Install[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
const writtenCsp = /## Content Security Policy[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
/** The backend URL the examples are written with. */
const WRITTEN_BACKEND = "http://127.0.0.1:8080";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

function closedPort() {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The binary `make test-pkg` built, or the newest one cargo left. */
function binary() {
  if (process.env.THREEDS_BRIDGE_BIN) return process.env.THREEDS_BRIDGE_BIN;
  for (const profile of ["debug", "native", "release"]) {
    const candidate = fileURLToPath(new URL(`target/${profile}/threeds-bridge`, root));
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("no threeds-bridge binary: run `make native` or set THREEDS_BRIDGE_BIN");
}

/** Runs `threeds-bridge ARGS` until `stop()`; resolves once its output matches `ready`. */
async function run(args, ready) {
  const child = spawn(binary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      const found = ready.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => reject(new Error(`${args[0]} exited with ${code}:\n${output}`)));
  });
  return {
    match,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/**
 * The README's install steps, run: `npm pack ./pkg` in the repository (a bare `pkg` would
 * be the registry's package of that name) (the `make pkg` half is
 * `make test-pkg`'s prerequisite), then its `npm install ./<tarball>` in a scratch project
 * (offline: the package has no dependencies). Returns the installed package's folder.
 */
async function installAsWritten() {
  assert.ok(installSteps, "pkg/README.md has a ```sh block under ## Install");
  const lines = installSteps.trim().split("\n");
  assert.deepEqual(lines.map((line) => line.replace(/\S+\.tgz$/, "TARBALL")),
    ["make pkg && npm pack ./pkg", "npm install TARBALL"]);
  assert.ok(existsSync(new URL("pkg/threeds_bridge_bg.wasm", root)), "make pkg has built pkg/");
  const project = await mkdtemp(join(tmpdir(), "threeds-install-"));
  const packed = execFileSync("npm", ["pack", "./pkg", "--json"], { cwd: fileURLToPath(root), encoding: "utf8" });
  const tarball = JSON.parse(packed)[0].filename;
  assert.equal(`./${tarball}`, lines[1].split(" ").pop(), "the README names the tarball npm pack makes");
  await copyFile(new URL(tarball, root), join(project, tarball));
  await rm(new URL(tarball, root));
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "shop", private: true }));
  execFileSync("npm", [...lines[1].split(" ").slice(1), "--offline", "--no-audit", "--no-fund"], { cwd: project, stdio: "ignore" });
  return { project, installed: join(project, "node_modules/threeds-bridge") };
}

const { project, installed } = await installAsWritten();
process.on("exit", () => execFileSync("rm", ["-rf", project]));

/**
 * The merchant's page server, serving what `site` holds when a request comes: the page
 * under `site.csp`, `site.app` as /app.js, the package from pkg/, and the merchant's
 * checkout route (POST /checkout answers `await site.checkout()`).
 */
async function pageServer(site) {
  const page = '<!doctype html><div id="challenge"></div><div id="result"></div>' +
    '<script type="module" src="/app.js"></script>';
  const types = { js: "text/javascript", wasm: "application/wasm" };
  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    try {
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/html", "content-security-policy": site.csp });
        return response.end(page);
      }
      if (path === "/app.js") {
        response.writeHead(200, { "content-type": types.js });
        return response.end(site.app);
      }
      if (path === "/checkout" && request.method === "POST") {
        const answer = await site.checkout();
        response.writeHead(200, { "content-type": "application/json" });
        return response.end(JSON.stringify(answer));
      }
      if (path.startsWith("/pkg/") && !path.includes("..")) {
        const body = await readFile(join(installed, path.slice("/pkg/".length)));
        response.writeHead(200, { "content-type": types[path.split(".").pop()] ?? "text/plain" });
        return response.end(body);
      }
    } catch {}
    response.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: server.address().port };
}

/** The README's CSP, as written, with the backend's (and the issuers') origins filled in. */
function documentedCsp(backend, issuers = "") {
  assert.ok(writtenCsp, "pkg/README.md has a ``` block under ## Content Security Policy");
  return writtenCsp
    .replaceAll("<your backend's origin>", backend)
    .replaceAll(" <the issuers' ACS origins>", issuers ? ` ${issuers}` : "")
    .trim()
    .split("\n")
    .join(" ");
}

function pageApp(backend) {
  return pageExample
    .replace('from "threeds-bridge"', 'from "/pkg/threeds_bridge.js"')
    .replace(WRITTEN_BACKEND, backend);
}

/** Opens `url` in a fresh page; collects console lines and exceptions. */
async function open(browser, url) {
  const tab = await browser.newPage();
  const console = [];
  const errors = [];
  tab.on("console", (message) => console.push(message.text()));
  tab.on("pageerror", (error) => errors.push(String(error)));
  await tab.goto(url);
  await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 30_000 });
  return { tab, console, errors };
}

test("the README's CSP is what the page gets, and it names 'self' for init()'s fetch of the wasm", () => {
  const csp = documentedCsp("http://backend.test", "http://acs.test");
  assert.match(csp, /connect-src 'self' http:\/\/backend\.test;/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.ok(!csp.includes("<"), `every placeholder filled: ${csp}`);
});

test("the README page example runs in Chromium under the documented CSP (backend unreachable: its error path)", async () => {
  assert.ok(pageExample, "pkg/README.md has a ```js example under ### Your checkout page");
  assert.match(pageExample, /from "threeds-bridge"/);
  const backend = `http://127.0.0.1:${await closedPort()}`;
  // What the merchant's checkout route answers: a client secret of the backend's shape.
  const clientSecret = "0123456789abcdef0123456789abcdef_secret_00112233445566778899aabbccddeeff";
  const { server, port } = await pageServer({
    app: pageApp(backend), csp: documentedCsp(backend), checkout: () => ({ clientSecret }),
  });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const { tab, console, errors } = await open(browser, `http://127.0.0.1:${port}/`);
    assert.equal(await tab.getAttribute("#result", "data-status"), "error");
    assert.equal(await tab.textContent("#result"), "error: network");
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

test("the README's server and page examples pay against a real backend, and the server's read says paid", { timeout: 120_000 }, async () => {
  assert.ok(serverExample, "pkg/README.md has a ```js example under ### Your server");
  assert.ok(serverExample.includes(WRITTEN_BACKEND) && serverExample.includes("process.env.THREEDS_BRIDGE_API_KEY"));
  const folder = await mkdtemp(join(tmpdir(), "threeds-readme-"));
  const apiKey = `readme-merchant-key-${process.pid}-${Date.now()}`;
  const running = [];
  // The page's origin goes into the backend's config, so the page server starts first.
  const site = {};
  const { server, port } = await pageServer(site);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const sandbox = await run(["sandbox", "--port", "0"], /serving (http:\/\/\S+)/);
    running.push(sandbox);
    const sandboxUrl = sandbox.match[1];
    const backendPort = await closedPort();
    const backend = `http://127.0.0.1:${backendPort}`;
    const config = join(folder, "backend.json");
    await writeFile(config, JSON.stringify({
      listen: `127.0.0.1:${backendPort}`,
      public_url: backend,
      checkout_origins: [`http://127.0.0.1:${port}`],
      merchant_api_keys: [apiKey],
      store: { kind: "memory" },
      providers: {
        paysafe: {
          base_url: `${sandboxUrl}/paysafe`, api_user: "sandbox-paysafe-user",
          api_password: "sandbox-paysafe-password", account_id: "89987201",
        },
        dlocal: {
          base_url: `${sandboxUrl}/dlocal`, x_login: "sak223k2wdksdl2",
          x_trans_key: "fm12O7G9", secret_key: "sandbox-dlocal-secret",
        },
      },
    }));
    const serve = await run(["serve", "--config", config], /threeds-bridge serve: /);
    running.push(serve);

    // The merchant's server: the README's module as written, pointed at this backend.
    process.env.THREEDS_BRIDGE_API_KEY = apiKey;
    const serverFile = join(folder, "server.mjs");
    await writeFile(serverFile, serverExample.replace(WRITTEN_BACKEND, backend));
    await writeFile(join(folder, "server-dlocal.mjs"),
      serverExample.replace(WRITTEN_BACKEND, backend).replace('provider: "paysafe"', 'provider: "dlocal"'));
    const merchant = await import(pathToFileURL(serverFile).href);
    let order;
    Object.assign(site, {
      app: pageApp(backend),
      csp: documentedCsp(backend, sandboxUrl),
      checkout: () => merchant.startCheckout(order),
    });

    order = { id: `readme-${Date.now()}`, amount: 1234, currency: "USD" };
    const traffic = [];
    const context = await browser.newContext();
    context.on("request", (request) => traffic.push(JSON.stringify([request.headers(), request.postData()])));
    context.on("response", async (response) => traffic.push(await response.text().catch(() => "")));
    const tab = await context.newPage();
    const errors = [];
    tab.on("pageerror", (error) => errors.push(String(error)));
    await tab.goto(`http://127.0.0.1:${port}/`);
    await tab.waitForSelector("#result[data-status]", { state: "attached", timeout: 30_000 });
    assert.equal(await tab.textContent("#result"), `authorized: 1234 USD, order ${order.id}`);
    assert.deepEqual(errors, []);
    assert.ok(order.paymentId, "startCheckout kept the payment's id with the order");
    assert.equal(await merchant.isPaid(order), true, "the server's keyed read says paid");
    assert.equal(await merchant.isPaid({ ...order, amount: 1 }), false, "another amount is not this payment");
    assert.equal(await merchant.isPaid({ ...order, id: "another-order" }), false);
    assert.ok(traffic.length > 3, "the page's traffic was recorded");
    assert.ok(!traffic.some((text) => text.includes(apiKey)), "the API key never reaches the page");

    // A shopper whose card is declined tries again with another: the README's route makes
    // the second try a payment of its own (the first is final), which the page then pays.
    order = { id: `readme-retry-${Date.now()}`, amount: 1234, currency: "USD" };
    site.app = pageApp(backend).replace('number: "4000000000001000"', 'number: "4000000000004004"');
    const declined = await open(browser, `http://127.0.0.1:${port}/`);
    assert.equal(await declined.tab.getAttribute("#result", "data-status"), "declined");
    const firstTry = order.paymentId;
    assert.equal(await merchant.isPaid(order), false, "a declined payment is not paid");
    site.app = pageApp(backend);
    const retried = await open(browser, `http://127.0.0.1:${port}/`);
    assert.equal(await retried.tab.textContent("#result"), `authorized: 1234 USD, order ${order.id}-2`);
    assert.notEqual(order.paymentId, firstTry, "the second try is a payment of its own");
    assert.equal(await merchant.isPaid(order), true, "the server's keyed read says paid");
    // Paid: another call of the route answers the same payment, never a third.
    const paid = order.paymentId;
    await merchant.startCheckout(order);
    assert.equal(order.paymentId, paid);
    assert.equal(order.tries, 2);

    // The same example with dLocal as the provider (a merchant's choice): its `payer`
    // carries what dLocal requires.
    const dlocal = await import(`${pathToFileURL(serverFile).href}?dlocal`.replace("server.mjs", "server-dlocal.mjs"));
    order = { id: `readme-dlocal-${Date.now()}`, amount: 1234, currency: "BRL" };
    site.checkout = () => dlocal.startCheckout(order);
    const again = await open(browser, `http://127.0.0.1:${port}/`);
    assert.equal(await again.tab.textContent("#result"), `authorized: 1234 BRL, order ${order.id}`);
    assert.deepEqual(again.errors, []);
    assert.equal(await dlocal.isPaid(order), true, "the server's keyed read says paid");

    // The README's CORS note: the same page as http://localhost is another origin.
    site.checkout = () => merchant.startCheckout(order);
    order = { id: `readme-localhost-${Date.now()}`, amount: 1234, currency: "USD" };
    const elsewhere = await open(browser, `http://localhost:${port}/`);
    assert.equal(await elsewhere.tab.getAttribute("#result", "data-status"), "error");
    assert.equal(await elsewhere.tab.textContent("#result"), "error: network", "only a network error in the page");
    const warning = serve.output().split("\n").find((line) => line.includes(`origin=http://localhost:${port}`));
    assert.match(warning ?? "", /WARN.*checkout_origins/, "the backend's log names the config key to change");
  } finally {
    await browser.close();
    server.close();
    for (const child of running.reverse()) await child.stop();
    await rm(folder, { recursive: true, force: true });
  }
});
