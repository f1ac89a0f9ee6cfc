// The TypeScript union of error codes (`ThreeDSecureErrorCode` in src/browser/types.d.ts,
// the package's .d.ts) is exactly the set of stable codes the Rust code can produce: the
// module's own (src/browser/error.rs), the EMV rules' (src/emv/error.rs) and the backend
// API's (every `ApiError` built with a literal code under src/backend/, the order terms'
// codes in src/order.rs and the store's in src/store/mod.rs). A code added on either side
// without the other fails here. src/backend/operations.rs is left out: capture, void and
// refund are the merchant's server's routes (its API key), no page ever receives their
// codes; docs/openapi.yaml lists them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";

const root = new URL("../", import.meta.url);
const read = (path) => readFile(new URL(path, root), "utf8");

async function rustFiles(folder) {
  const entries = await readdir(new URL(folder, root), { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".rs"))
    .map((entry) => `${entry.parentPath ?? entry.path}/${entry.name}`);
}

const all = (text, pattern) => [...text.matchAll(pattern)].map((match) => match[1]);

/** The body of `fn code` in `text`: its `=> "code"` arms. */
function codeArms(text) {
  const body = /fn code\(&self\)[^{]*\{([\s\S]*?)\n    \}/.exec(text)?.[1] ?? "";
  return all(body, /=> "([a-z][a-z0-9_]*)"/g);
}

async function rustCodes() {
  const codes = new Set();
  const add = (list) => list.forEach((code) => codes.add(code));
  add(all(await read("src/browser/error.rs"), /pub const [A-Z_]+: &'static str = "([a-z][a-z0-9_]*)"/g));
  add(codeArms(await read("src/emv/error.rs")));
  add(codeArms(await read("src/store/mod.rs")));
  add(all(await read("src/order.rs"), /code: "([a-z][a-z0-9_]*)"/g));
  for (const file of await rustFiles("src/backend/")) {
    if (/src\/backend\/+operations\.rs$/.test(file)) continue;
    const text = await readFile(file, "utf8");
    add(all(text, /ApiError::\w+\(\s*(?:\d+\s*,\s*)?"([a-z][a-z0-9_]*)"/g));
  }
  return codes;
}

async function typedCodes() {
  const types = await read("src/browser/types.d.ts");
  const union = /export type ThreeDSecureErrorCode =([^;]*);/.exec(types)?.[1];
  assert.ok(union, "types.d.ts declares ThreeDSecureErrorCode");
  assert.match(types, /code: ThreeDSecureErrorCode;/, "ThreeDSecureError's code is that union");
  return new Set(all(union, /"([a-z][a-z0-9_]*)"/g));
}

test("the error code union in types.d.ts is exactly the codes the module and the backend produce", async () => {
  const [rust, typed] = [await rustCodes(), await typedCodes()];
  assert.ok(rust.size > 30, `found the Rust codes: ${[...rust]}`);
  for (const code of ["network", "pending", "invalid_field", "field_not_allowed", "not_found", "store_unavailable"]) {
    assert.ok(rust.has(code), `the parse finds ${code}`);
  }
  const missing = [...rust].filter((code) => !typed.has(code)).sort();
  const extra = [...typed].filter((code) => !rust.has(code)).sort();
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
});
