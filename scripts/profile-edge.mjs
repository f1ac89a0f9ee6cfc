// make profile-edge: where a warm payment's CPU goes in the edge worker, wasm included.
//
// A CPU profile through workerd's inspector is no use for the wasm: with a debugger
// attached V8 runs it as debug code, several times slower (docs/edge.md). So this runs the
// two workers bench-edge compares, examples/edge-worker/worker.js (pkg/edge) and
// bench/edge-baseline/worker.js, in plain Node.js, whose V8 runs the wasm as workerd's does
// (tests/edge/in-node.mjs: each worker's fetch handler called with web Requests, its
// sessions the real ThreedsSessions over an in-memory stand-in for the Durable Object's
// storage), with provider calls to the real sandbox over HTTP. It prints each worker's CPU
// per payment (rounds in turn, as bench-edge), then, from node:inspector's sampling
// profiler over more payments of each (a profiler, no debugger: the wasm runs as it does
// unprofiled), a payment's self time by part side by side and the wasm functions that take
// most.
//
// Function names need a wasm that keeps them: PROFILE_EDGE_PKG=dir takes
// threeds_bridge_edge.js and threeds_bridge_edge_bg.wasm from dir instead of pkg/edge
// (`make edge EDGE_NAMES=1 EDGE_OUT=dir`). Knobs: PROFILE_EDGE_PAYMENTS (default 400),
// PROFILE_EDGE_TOP (wasm functions listed, default 25). Node's fetch and Request are not
// workerd's: the part outside the workers' own code is Node's cost, for scale only.
import { Session } from "node:inspector/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { LOCAL_MERCHANT_KEY } from "../examples/edge-worker/miniflare.mjs";
import { importAsWorkerd, workerInNode } from "../tests/edge/in-node.mjs";
import { PAGE_HEADERS, confirmBody, createBody, startSandbox } from "../tests/edge/support.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const PAYMENTS = Number(process.env.PROFILE_EDGE_PAYMENTS ?? 400);
const TOP = Number(process.env.PROFILE_EDGE_TOP ?? 25);
const pkg = resolve(process.env.PROFILE_EDGE_PKG || `${root}pkg/edge`);
if (!(PAYMENTS > 0 && PAYMENTS % 10 === 0)) throw new Error("PROFILE_EDGE_PAYMENTS: a positive multiple of 10");

/** The worker of `file` in this process (tests/edge/in-node.mjs): `pay()` makes one payment. */
async function stand(file, sandboxUrl) {
  const worker = await workerInNode(file, sandboxUrl);
  const call = async (path, init) => {
    const answer = await worker.fetch(path, init);
    return { status: answer.status, body: await answer.json() };
  };
  return async function pay() {
    const created = await call("/v1/payments", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${LOCAL_MERCHANT_KEY}` },
      body: JSON.stringify(createBody("paysafe")),
    });
    const { id, clientSecret } = created.body;
    const confirmed = await call(`/v1/payments/${id}/confirm`, {
      method: "POST",
      headers: PAGE_HEADERS,
      body: JSON.stringify(confirmBody(clientSecret, "4000000000001000", "iframe")),
    });
    if (confirmed.body.status !== "authorized") throw new Error(`payment: ${JSON.stringify(confirmed.body)}`);
  };
}

/** Ten payments of `pay`: the CPU they took, in ms. */
async function tenPayments(pay) {
  const before = process.cpuUsage();
  for (let i = 0; i < 10; i += 1) await pay();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** The part of a worker's run a profile's frame is in. */
function part({ url, functionName }) {
  if (url.includes("wasm")) return "wasm";
  if (url.endsWith("threeds_bridge_edge.js")) return "wasm-bindgen glue";
  if (url.endsWith("sessions.js")) return "sessions.js (the Durable Object)";
  if (url.endsWith("/edge/index.js") || url.endsWith("edge-baseline/worker.js")) return "the worker's own JS";
  if (functionName === "(garbage collector)") return "garbage collector";
  return "Node.js (fetch, streams, the harness)";
}

/** Self time per payment in `profile` (of `payments`): by part, and by wasm function. */
function selfTimes(profile, payments) {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const parts = new Map();
  const functions = new Map();
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us / 1000 / payments);
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    if (frame.functionName === "(idle)") return;
    const us = profile.timeDeltas[i] ?? 0;
    add(parts, part(frame), us);
    if (part(frame) === "wasm") add(functions, frame.functionName.replace(/\[[0-9a-f]{16}\]/g, ""), us);
  });
  return { parts, functions };
}

/** `PAYMENTS` payments of `pay` under node:inspector's sampling profiler (no debugger). */
async function profiled(pay) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  for (let round = 0; round < PAYMENTS / 10; round += 1) await tenPayments(pay);
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  return selfTimes(profile, PAYMENTS);
}

importAsWorkerd(pkg);
const sandbox = await startSandbox("https://worker.invalid");
const log = console.log;
console.log = () => {}; // the workers' log lines
let report;
try {
  const pays = {
    wasm: await stand(`${root}examples/edge-worker/worker.js`, sandbox.url),
    js: await stand(`${root}bench/edge-baseline/worker.js`, sandbox.url),
  };
  for (const pay of Object.values(pays)) for (let i = 0; i < 50; i += 1) await pay(); // warm-up, not measured
  const cpu = { wasm: 0, js: 0 };
  for (let round = 0; round < PAYMENTS / 10; round += 1) {
    for (const [kind, pay] of Object.entries(pays)) cpu[kind] += await tenPayments(pay);
  }
  const wasm = await profiled(pays.wasm);
  const js = await profiled(pays.js);
  const ms = (value) => `${(value ?? 0).toFixed(3)} ms`.padStart(10);
  const parts = [...wasm.parts].sort((a, b) => b[1] - a[1]).map(([name, value]) => name);
  for (const name of js.parts.keys()) if (!parts.includes(name)) parts.push(name);
  const top = [...wasm.functions].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  report = [
    `profile-edge: Paysafe frictionless in plain Node.js, ${PAYMENTS} payments of each worker (rounds in turn)`,
    `CPU per payment: wasm worker ${(cpu.wasm / PAYMENTS).toFixed(2)} ms, JS worker ${(cpu.js / PAYMENTS).toFixed(2)} ms, ${(cpu.wasm / cpu.js).toFixed(2)}×`,
    `self time per payment, sampled (${PAYMENTS} more payments of each):${"wasm".padStart(9)}${"JS".padStart(10)}`,
    ...parts.map((name) => `  ${name.padEnd(52)}${ms(wasm.parts.get(name))}${ms(js.parts.get(name))}`),
    `the wasm functions with most self time per payment:`,
    ...top.map(([name, value]) => `${ms(value)}  ${name.slice(0, 150)}`),
  ].join("\n");
} finally {
  console.log = log;
  await sandbox.stop();
}
console.log(report);
