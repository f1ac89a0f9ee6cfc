// make bench-edge: the edge worker against a plain-JavaScript worker of the same flow
// (bench/edge-baseline/worker.js: a Paysafe frictionless payment with the same
// ThreedsSessions Durable Object calls and the same sandbox calls), side by side in the
// same miniflare (the real workerd), against the same local sandbox, which answers at once.
//   - cold: a new workerd with a fresh Durable Object, then its first request (the
//     merchant's read of an unknown payment: one Durable Object read; the wasm worker has
//     instantiated its module and built its backend from env while starting), and the CPU
//     workerd spent until ready and on that request;
//   - warm: the merchant's create (POST /v1/payments) and the page's confirm (frictionless
//     card, to the final result), rounds of each worker in turn, and workerd's CPU per payment;
//   - the edge wasm, gzipped, and a one-provider worker's (BENCH_EDGE_PROVIDERS, `make edge-sizes`).
// Printed as one table, never asserted: medians on this machine (2 shared cores) are for
// comparison, not a promise. The whole is run BENCH_EDGE_REPEATS times (default 5): each
// row is the median over the runs of each run's median, each ratio taken within a run.
// The workers' own log lines go to target/bench-edge.log.
// BENCH_EDGE_ALSO="label=dir,…" adds other builds of the wasm (a directory holding a copy
// of pkg/edge/threeds_bridge_edge.js and threeds_bridge_edge_bg.wasm) as more columns,
// interleaved with the two in every cold start and round: on a busy machine, builds
// compared within one run are compared under the same load.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";

import { LOCAL_MERCHANT_KEY, SANDBOX_SECRETS, sandboxConfig, startWorker } from "../examples/edge-worker/miniflare.mjs";
import { CHECKOUT, api, confirmBody, createBody, freePort, startSandbox } from "../tests/edge/support.mjs";

const COLD_RUNS = Number(process.env.BENCH_EDGE_COLD ?? 7);
// Short rounds, many of them: the workers take turns every few payments, so a busy
// neighbour's load falls on each about alike (rounds of 20 let one worker's whole round
// land in a quiet or a busy spell).
const ROUNDS = Number(process.env.BENCH_EDGE_ROUNDS ?? 12);
const FLOWS = Number(process.env.BENCH_EDGE_FLOWS ?? 5);
// Whole runs of the above: one run's medians move with the machine's load from one minute
// to the next by more than the gaps measured, so the table gives the median of several.
const REPEATS = Number(process.env.BENCH_EDGE_REPEATS ?? 5);
const root = fileURLToPath(new URL("../", import.meta.url));
const LOG = `${root}target/bench-edge.log`;

const sorted = (values) => [...values].sort((a, b) => a - b);
const quantile = (values, q) => sorted(values)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => {
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const onLog = (text) => appendFileSync(LOG, text);

/** A worker of `modules` in its own miniflare, its logs to LOG; its URL once ready. */
async function startMiniflare({ modules, modulesRoot, port, config, persistDir }) {
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    modules,
    modulesRoot,
    compatibilityDate: "2025-09-01",
    bindings: { THREEDS_BRIDGE_CONFIG: config, ...SANDBOX_SECRETS },
    durableObjects: { THREEDS_SESSIONS: "ThreedsSessions" },
    durableObjectsPersist: persistDir,
    handleRuntimeStdio(stdout, stderr) {
      stdout.on("data", (chunk) => onLog(chunk.toString()));
      stderr.on("data", (chunk) => onLog(chunk.toString()));
    },
  });
  return { mf, url: (await mf.ready).toString().replace(/\/$/, "") };
}

/** The baseline in miniflare: its worker.js beside the same pkg/edge files the wasm worker has. */
function startBaseline(options) {
  const here = `${root}bench/edge-baseline/`;
  const edge = `${root}pkg/edge/`;
  const at = (name) => `${here}threeds-bridge/${name}`;
  const modules = [
    { type: "ESModule", path: `${here}worker.js`, contents: readFileSync(`${here}worker.js`) },
    { type: "ESModule", path: at("sessions.js"), contents: readFileSync(`${edge}sessions.js`) },
    { type: "ESModule", path: at("threeds_bridge_edge.js"), contents: readFileSync(`${edge}threeds_bridge_edge.js`) },
    { type: "CompiledWasm", path: at("threeds_bridge_edge_bg.wasm"), contents: readFileSync(`${edge}threeds_bridge_edge_bg.wasm`) },
  ];
  return startMiniflare({ ...options, modules, modulesRoot: here });
}

const WORKERS = {
  wasm: (options) => startWorker({ ...options, onLog }),
  js: startBaseline,
};
// BENCH_EDGE_ALSO="label=dir,…": more wasm builds measured beside these two.
for (const entry of (process.env.BENCH_EDGE_ALSO ?? "").split(",").filter(Boolean)) {
  const [label, dir] = entry.split("=");
  // The example worker over that build's wasm and glue (the rest from pkg/edge/).
  WORKERS[label] = (options) => startWorker({ ...options, onLog, build: dir });
}

/** The workerd processes this script has started (miniflare spawns one per worker). */
function workerdPids() {
  const children = readdirSync("/proc/self/task").flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, "utf8").split(" ").filter(Boolean));
  return children.filter((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd");
}

/**
 * The CPU time `pid` has used so far, in ms (every thread's, from /proc's schedstat): what
 * the worker and its Durable Object cost, which a busy machine delays but does not add to.
 */
function cpuMs(pid) {
  return readdirSync(`/proc/${pid}/task`).reduce(
    (sum, task) => sum + Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) / 1e6,
    0,
  );
}

/** A worker of `kind` on a fresh port and Durable Object: `{ url, cpuMs, stop }`. */
async function start(kind, sandboxUrl) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = sandboxConfig({ publicUrl, sandboxUrl, checkoutOrigins: [CHECKOUT] });
  const persistDir = mkdtempSync(join(tmpdir(), "threeds-bench-"));
  const before = new Set(workerdPids());
  const worker = await WORKERS[kind]({ port, config, persistDir });
  const [pid] = workerdPids().filter((p) => !before.has(p));
  const stop = async () => {
    await worker.mf.dispose();
    rmSync(persistDir, { recursive: true, force: true });
  };
  return { url: worker.url, cpuMs: () => cpuMs(pid), stop };
}

/** One Paysafe frictionless payment through `base`: `[create ms, confirm ms]`. */
async function flow(base) {
  const t0 = performance.now();
  const created = await api.create(base, createBody("paysafe"), LOCAL_MERCHANT_KEY);
  const t1 = performance.now();
  if (created.status !== 201) throw new Error(`create via ${base}: ${created.status} ${JSON.stringify(created.body)}`);
  const { id, clientSecret } = created.body;
  const confirmed = await api.confirm(base, id, confirmBody(clientSecret, "4000000000001000", "iframe"));
  const t2 = performance.now();
  if (confirmed.status !== 200 || confirmed.body.status !== "authorized") {
    throw new Error(`confirm via ${base}: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  }
  return [t1 - t0, t2 - t1];
}

/** One run: COLD_RUNS cold starts and ROUNDS × FLOWS warm payments of each worker, interleaved. */
async function measure(sandboxUrl) {
  const series = () => ({ startCpu: [], cold: [], coldCpu: [], create: [], confirm: [], flow: [], flowCpu: [] });
  const times = Object.fromEntries(Object.keys(WORKERS).map((kind) => [kind, series()]));
  for (let run = 0; run < COLD_RUNS; run += 1) {
    for (const kind of Object.keys(WORKERS)) {
      const worker = await start(kind, sandboxUrl);
      const [t0, cpu0] = [performance.now(), worker.cpuMs()];
      times[kind].startCpu.push(cpu0);
      const answer = await api.read(worker.url, "0123456789abcdef0123456789abcdef", LOCAL_MERCHANT_KEY);
      times[kind].cold.push(performance.now() - t0);
      times[kind].coldCpu.push(worker.cpuMs() - cpu0);
      await worker.stop();
      if (answer.status !== 404) throw new Error(`${kind} cold start: ${answer.status}`);
    }
  }
  const warm = {};
  for (const kind of Object.keys(WORKERS)) warm[kind] = await start(kind, sandboxUrl);
  try {
    for (const kind of Object.keys(warm)) await flow(warm[kind].url); // first payments, not timed
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const kind of Object.keys(warm)) {
        for (let i = 0; i < FLOWS; i += 1) {
          const cpu0 = warm[kind].cpuMs();
          const [create, confirm] = await flow(warm[kind].url);
          times[kind].flowCpu.push(warm[kind].cpuMs() - cpu0);
          times[kind].create.push(create);
          times[kind].confirm.push(confirm);
          times[kind].flow.push(create + confirm);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(warm).map((w) => w.stop()));
  }
  return times;
}

mkdirSync(`${root}target`, { recursive: true });
writeFileSync(LOG, "");
const sandbox = await startSandbox("http://127.0.0.1:9");
const runs = [];
try {
  for (let repeat = 0; repeat < REPEATS; repeat += 1) runs.push(await measure(sandbox.url));
} finally {
  await sandbox.stop();
}

const gz = (path) => gzipSync(readFileSync(`${root}${path}`), { level: 9 }).length;
const wasmBytes = readFileSync(`${root}pkg/edge/threeds_bridge_edge_bg.wasm`).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const also = Object.keys(WORKERS).slice(2);
// The one-provider worker's wasm beside pkg/edge's (all four providers unless built with
// EDGE_PROVIDERS): BENCH_EDGE_PROVIDERS (default paysafe, the flow measured), as `make
// edge-sizes` left it in pkg/edge/<name>/ (the package's threeds-bridge/edge/<name>).
function onlySize() {
  const only = process.env.BENCH_EDGE_PROVIDERS ?? "paysafe";
  const path = `pkg/edge/${only}/threeds_bridge_edge_bg.wasm`;
  if (!existsSync(`${root}${path}`)) return `${only} only: not built (make edge-sizes)`;
  const built = statSync(`${root}${path}`).mtime.toISOString().slice(0, 16).replace("T", " ");
  return `${only} only ${kb(gz(path))} (built ${built} UTC)`;
}
// Each row: a measure's median within each run, then the median of those over the runs;
// a ratio is taken within each run (its builds under the same load) before the median of
// the runs' ratios, and the wasm worker's ratio is followed by its range over the runs.
const cell = (ms) => `${ms.toFixed(1)} ms`.padStart(9);
const ratioCell = (r) => `${r.toFixed(2)}×`.padStart(7);
const row = (label, pick) => {
  const value = (kind) => median(runs.map((run) => pick(run[kind])));
  const ratios = (kind) => runs.map((run) => pick(run[kind]) / pick(run.js));
  const others = also.map((kind) => ` ${cell(value(kind))} ${ratioCell(median(ratios(kind)))}`);
  const spread = sorted(ratios("wasm"));
  const range = REPEATS > 1 ? ` ${`${spread[0].toFixed(2)}–${spread.at(-1).toFixed(2)}×`.padStart(12)}` : "";
  return `${label.padEnd(36)} ${cell(value("wasm"))} ${cell(value("js"))} ${ratioCell(median(ratios("wasm")))}${range}${others.join("")}`;
};
const warmN = ROUNDS * FLOWS;
console.log([
  `bench-edge: Paysafe frictionless, wasm worker vs plain-JS worker (bench/edge-baseline/),`,
  `same miniflare, same Durable Object, same sandbox; ${REPEATS} runs of ${COLD_RUNS} cold starts and ${warmN} warm payments each`,
  `${"".padEnd(36)} ${"wasm".padStart(9)} ${"JS".padStart(9)} ${"ratio".padStart(7)}${REPEATS > 1 ? ` ${"runs' range".padStart(12)}` : ""}${also.map((kind) => ` ${kind.padStart(9)} ${"ratio".padStart(7)}`).join("")}`,
  row(`start: workerd CPU until ready`, (t) => median(t.startCpu)),
  row(`cold: first request, median`, (t) => median(t.cold)),
  row(`cold: first request, workerd CPU`, (t) => median(t.coldCpu)),
  // What the isolate's load does ahead of the first request (its warm-up) counted with it.
  row(`cold: start + first request, CPU`, (t) => median(t.coldCpu.map((c, i) => c + t.startCpu[i]))),
  row(`warm: create, median`, (t) => median(t.create)),
  row(`warm: confirm, median`, (t) => median(t.confirm)),
  row(`warm: create + confirm, median`, (t) => median(t.flow)),
  row(`warm: create + confirm, p90`, (t) => quantile(t.flow, 0.9)),
  row(`warm: create + confirm, workerd CPU`, (t) => median(t.flowCpu)),
  `size: edge wasm gzip ${kb(gz("pkg/edge/threeds_bridge_edge_bg.wasm"))} (raw ${kb(wasmBytes)}), JS glue gzip ${kb(gz("pkg/edge/threeds_bridge_edge.js"))}; ${onlySize()}`,
  `workers' logs: ${LOG.slice(root.length)}`,
].join("\n"));
