// make bench-backend: what the native backend (`threeds-bridge serve`, the `native`
// profile) costs per payment on each session store, printed, never asserted.
//   - stores: memory, SQLite (a file in a temp dir), PostgreSQL (TB_TEST_DATABASE_URL:
//     the Makefile runs this under scripts/pg-test.sh, a throwaway cluster);
//   - flows: a frictionless payment of each provider: the merchant's create (POST
//     /v1/payments, merchant key) then the page's confirm (POST /v1/payments/{id}/confirm,
//     client secret, contract card 4000000000001000), which must end authorized. Payroc's
//     confirm sends the browser to its hosted MPI instead: the bench then submits that form
//     to the sandbox's MPI, follows its redirect to the backend's return and reads the
//     page's view (three more requests, one more provider call: not comparable per flow);
//   - concurrency: c clients each running flows back to back for a while; flows/s, the
//     p50/p99 of one flow (create + confirm) and the backend's CPU per flow (utime +
//     stime of the serve process from /proc/<pid>/stat), each the median of several runs;
//     the sandbox's and this client's CPU per flow beside it (they share the cores);
//   - PostgreSQL rows also: the server's own CPU per flow (utime + stime of every process of
//     the cluster: the postmaster, its live children, and those it reaped, TB_TEST_PG_PID from
//     scripts/pg-test.sh), and per flow its write transactions (transaction ids assigned) and
//     WAL bytes (pg_current_wal_lsn), read with psql (TB_TEST_PG_BIN) between runs.
// The sandbox runs on the same 2 shared cores, and so does this client: for comparison
// between stores and builds, not a promise. The client speaks HTTP/1.1 through node:http
// with one keep-alive agent (a socket per client, reused), which costs the shared cores
// about half what the global fetch (undici) does; BENCH_HTTP=fetch runs it with fetch.
//
// Knobs (env): BENCH_SECONDS per run (default 2), BENCH_RUNS (3), BENCH_CONCURRENCY
// ("1,16,64"), BENCH_STORES ("memory,sqlite,postgres"), BENCH_PROVIDERS
// ("paysafe,bambora,dlocal,payroc"), BENCH_HTTP ("http" or "fetch"), BENCH_PG_POOL (the
// PostgreSQL store's pool_size; default the store's), THREEDS_BRIDGE_BIN (default
// target/native/threeds-bridge).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { LOCAL_MERCHANT_KEY, SANDBOX_SECRETS, sandboxConfig } from "../examples/edge-worker/miniflare.mjs";
import {
  CHECKOUT, PAGE_HEADERS, confirmBody, createBody, freePort, sandboxBinary, startSandbox,
} from "../tests/edge/support.mjs";

const list = (name, fallback) => (process.env[name] ?? fallback).split(",").map((s) => s.trim()).filter(Boolean);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONCURRENCY = list("BENCH_CONCURRENCY", "1,16,64").map(Number);
const STORES = list("BENCH_STORES", "memory,sqlite,postgres");
const PROVIDERS = list("BENCH_PROVIDERS", "paysafe,bambora,dlocal,payroc");
const FRICTIONLESS = "4000000000001000";
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

const HTTP = process.env.BENCH_HTTP ?? "http";
if (!["http", "fetch"].includes(HTTP)) throw new Error(`BENCH_HTTP=${HTTP}: http or fetch`);

/** Keep-alive sockets, as many as clients: each flow reuses one instead of connecting. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

/**
 * One HTTP request, redirects never followed: `{ status, headers, text }`. Through
 * node:http and `agent`, or through the global fetch when BENCH_HTTP=fetch.
 */
async function send(url, { method = "GET", headers = {}, body } = {}) {
  if (HTTP === "fetch") {
    const answer = await fetch(url, { method, headers, body, redirect: "manual" });
    return { status: answer.status, headers: Object.fromEntries(answer.headers), text: await answer.text() };
  }
  return new Promise((resolve, reject) => {
    const sent = http.request(url, { method, headers, agent }, (answer) => {
      const chunks = [];
      answer.on("data", (chunk) => chunks.push(chunk));
      answer.on("end", () => resolve({ status: answer.statusCode, headers: answer.headers, text: Buffer.concat(chunks).toString() }));
      answer.on("error", reject);
    });
    sent.on("error", reject);
    sent.end(body);
  });
}

const json = async (answer) => {
  const { status, text } = await answer;
  try {
    return { status, body: JSON.parse(text) };
  } catch {
    return { status, body: text };
  }
};

/** The merchant's create, the page's confirm and view (as tests/edge/support.mjs `api`). */
const api = {
  create: (base, body, key) => json(send(`${base}/v1/payments`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  })),
  confirm: (base, id, body) => json(send(`${base}/v1/payments/${id}/confirm`, {
    method: "POST", headers: PAGE_HEADERS, body: JSON.stringify(body),
  })),
  view: (base, id, clientSecret) => json(send(`${base}/v1/payments/${id}`, {
    headers: { origin: CHECKOUT, "x-client-secret": clientSecret },
  })),
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** CPU time (user + system) the process `pid` has used so far, in ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces:
  // [0] is field 3 (state), so utime (field 14) is [11] and stime (field 15) [12].
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** The fields of /proc/<pid>/stat after the command name (field 3 is [0]). */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * CPU time the PostgreSQL cluster has used so far, in ms: the postmaster (`pid`), its live
 * children (backends, WAL writer, checkpointer, ...) and, through its cutime + cstime, the
 * children it has reaped (an autovacuum worker that came and went). Null without a pid.
 */
function postgresCpuMs(pid) {
  if (!pid) return null;
  const own = statFields(pid);
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(own[i]), 0);
  let children = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      if (fields[1] === String(pid)) children += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read: its time is in the parent's.
    }
  }
  return ((ticks + children) * 1000) / TICKS_PER_SECOND;
}

/**
 * The server's next transaction id and WAL position (bytes): their differences count the
 * write transactions (each commit of a write takes one id; reads take none) and the WAL
 * written. Null unless psql is at hand (TB_TEST_PG_BIN).
 */
function postgresCounters() {
  const bin = process.env.TB_TEST_PG_BIN;
  if (!bin || !process.env.TB_TEST_DATABASE_URL) return null;
  const out = execFileSync(join(bin, "psql"), ["-XAtq", "-d", process.env.TB_TEST_DATABASE_URL, "-c",
    "SELECT pg_snapshot_xmax(pg_current_snapshot()), pg_current_wal_lsn() - '0/0'"]).toString().trim();
  const [xid, wal] = out.split("|").map(Number);
  return { xid, wal };
}

/** The store section of serve's config for `kind`, and what to remove afterwards. */
function storeConfig(kind, dir) {
  switch (kind) {
    case "memory":
      return { kind: "memory" };
    case "sqlite":
      return { kind: "sqlite", path: join(dir, "sessions.db") };
    case "postgres":
      if (!process.env.TB_TEST_DATABASE_URL) {
        throw new Error("postgres needs TB_TEST_DATABASE_URL: run under scripts/pg-test.sh (make bench-backend does)");
      }
      // A schema per run: each store starts empty.
      return {
        kind: "postgres",
        url: { env: "TB_TEST_DATABASE_URL" },
        schema: `bench_${process.pid}_${Date.now()}`,
        // Each durable write holds a connection until its commit is flushed: the pool
        // bounds how many commits share one flush (default: the store's own).
        ...(process.env.BENCH_PG_POOL && { pool_size: Number(process.env.BENCH_PG_POOL) }),
      };
    default:
      throw new Error(`unknown store ${kind} (memory, sqlite, postgres)`);
  }
}

/** `threeds-bridge serve` with `store` over the sandbox at `sandboxUrl`, once it answers. */
async function startServe(port, sandboxUrl, store, dir) {
  const url = `http://127.0.0.1:${port}`;
  const config = {
    listen: `127.0.0.1:${port}`,
    store,
    // Every client here is 127.0.0.1: the per-IP confirm limit would refuse the bench.
    confirm_rate_limit: { per_minute: 0 },
    ...sandboxConfig({ publicUrl: url, sandboxUrl, checkoutOrigins: [CHECKOUT] }),
  };
  writeFileSync(join(dir, "serve.json"), JSON.stringify(config));
  const child = spawn(sandboxBinary(), ["serve", "--config", join(dir, "serve.json")], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { RUST_LOG: "warn", ...process.env, ...SANDBOX_SECRETS },
  });
  let exited = null;
  child.once("exit", (code) => { exited = code; });
  for (let i = 0; i < 500 && exited === null; i += 1) {
    if (await fetch(`${url}/v1/complete.js`).then(() => true, () => false)) {
      const stop = () => new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGINT");
      });
      return { url, pid: child.pid, stop };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`serve with store ${store.kind} did not start (exit ${exited})`);
}

/** One frictionless payment of `provider` through `base`, to its final result. */
async function flow(base, provider) {
  const created = await api.create(base, createBody(provider), LOCAL_MERCHANT_KEY);
  if (created.status !== 201) {
    throw new Error(`${provider} create: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const { id, clientSecret } = created.body;
  let view = await api.confirm(base, id, confirmBody(clientSecret, FRICTIONLESS, "iframe"));
  if (view.status === 200 && view.body?.next?.type === "redirect") {
    await throughTheMpi(base, view.body.next.form);
    view = await api.view(base, id, clientSecret);
  }
  if (view.status !== 200 || view.body?.result?.status !== "authorized") {
    throw new Error(`${provider} did not end authorized: ${view.status} ${JSON.stringify(view.body)}`);
  }
}

/**
 * What the browser does with Payroc's frictionless card (tests/native/support/backend.rs
 * `follow`): submits the page's form to the hosted MPI, which answers at once with a
 * redirect to the receipt URL on the backend, and follows it there.
 */
async function throughTheMpi(base, form) {
  const fields = new URLSearchParams(form.fields.map((f) => [f.name, f.value]));
  const get = form.method.toLowerCase() === "get";
  const mpi = await send(get ? `${form.action}?${fields}` : form.action, {
    method: get ? "GET" : "POST",
    ...(!get && { headers: { "content-type": "application/x-www-form-urlencoded" }, body: fields.toString() }),
  });
  const receipt = new URL(mpi.headers.location ?? "", form.action).href;
  if (mpi.status !== 302 || !receipt.startsWith(base)) {
    throw new Error(`payroc MPI: ${mpi.status} to ${receipt}`);
  }
  const back = await send(receipt);
  if (back.status !== 200 && back.status !== 303) throw new Error(`payroc return: ${back.status}`);
}

/** `clients` clients running flows back to back for `seconds`: one run's figures. */
async function run(serve, sandbox, provider, clients, seconds, pg) {
  const latencies = [];
  const pgPid = pg ? Number(process.env.TB_TEST_PG_PID) || null : null;
  const pg0 = pg ? postgresCounters() : null;
  const pgCpu0 = postgresCpuMs(pgPid);
  const cpu0 = cpuMs(serve.pid);
  const sandbox0 = cpuMs(sandbox.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const start = performance.now();
      await flow(serve.url, provider);
      latencies.push(performance.now() - start);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuMs(serve.pid) - cpu0;
  const sandboxCpu = cpuMs(sandbox.pid) - sandbox0;
  const client = process.cpuUsage(client0);
  const pgCpu = pgPid && postgresCpuMs(pgPid) - pgCpu0;
  const pg1 = pg0 && postgresCounters();
  latencies.sort((a, b) => a - b);
  const flows = latencies.length;
  return {
    pgCpu: pgPid ? pgCpu / flows : null,
    pgWrites: pg0 ? (pg1.xid - pg0.xid) / flows : null,
    pgWalKb: pg0 ? (pg1.wal - pg0.wal) / 1024 / flows : null,
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpu: cpu / latencies.length,
    sandboxCpu: sandboxCpu / latencies.length,
    clientCpu: (client.user + client.system) / 1000 / latencies.length,
  };
}

const rows = [];
for (const kind of STORES) {
  const dir = mkdtempSync(join(tmpdir(), "threeds-bench-backend-"));
  const port = await freePort();
  const sandbox = await startSandbox(`http://127.0.0.1:${port}`);
  let serve;
  try {
    serve = await startServe(port, sandbox.url, storeConfig(kind, dir), dir);
    for (const provider of PROVIDERS) {
      for (let i = 0; i < 20; i += 1) await flow(serve.url, provider); // warm: tokens, pools, caches
      for (const clients of CONCURRENCY) {
        const runs = [];
        for (let r = 0; r < RUNS; r += 1) runs.push(await run(serve, sandbox, provider, clients, SECONDS, kind === "postgres"));
        const row = { provider, store: kind, clients };
        for (const key of ["rate", "p50", "p99", "cpu", "sandboxCpu", "clientCpu", "pgCpu", "pgWrites", "pgWalKb"]) {
          row[key] = runs[0][key] === null ? null : median(runs.map((x) => x[key]));
        }
        rows.push(row);
        process.stderr.write(`  ${provider} ${kind} c=${clients}: ${row.rate.toFixed(0)} flows/s\n`);
      }
    }
  } finally {
    await serve?.stop();
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pg = process.env.TB_TEST_DATABASE_URL && STORES.includes("postgres");
console.log(`bench-backend: medians of ${RUNS} runs of ${SECONDS} s; frictionless create + confirm (payroc: + MPI + return + view); ` +
  `CPU = serve's utime+stime per flow (sandbox, client, pg CPU: theirs; pg CPU = every process of the ` +
  `PostgreSQL cluster; pg writes = its write transactions per flow, WAL KB = its WAL per flow); client over ${HTTP}` +
  `${pg && !process.env.PG_TEST_DURABLE ? "; PostgreSQL with fsync off" : ""}`);
const header = ["provider", "store", "c", "flows/s", "p50 ms", "p99 ms", "CPU ms/flow", "sandbox", "client",
  "pg CPU", "pg writes", "WAL KB"];
const fixed = (value, digits) => (value === null ? "" : value.toFixed(digits));
const cells = rows.map((r) => [r.provider, r.store, String(r.clients), r.rate.toFixed(0),
  r.p50.toFixed(2), r.p99.toFixed(2), r.cpu.toFixed(2), r.sandboxCpu.toFixed(2), r.clientCpu.toFixed(2),
  fixed(r.pgCpu, 2), fixed(r.pgWrites, 1), fixed(r.pgWalKb, 1)]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => `| ${c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
for (const c of cells) console.log(line(c));
