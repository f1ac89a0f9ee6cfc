// The benchmark's plain-JavaScript collector (bench/baseline-details.js) against the EMV
// vectors the module's Rust is held to (tests/vectors, tests/emv_vectors.rs): the
// comparison in `make bench-browser` is only fair if both do the same work with the same
// answers. Cases whose outcome is the server's (Accept header, IP, a server User-Agent)
// are left to the Rust vectors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { collect, colorDepth, language } from "../bench/baseline-details.js";

const vectors = (name) => JSON.parse(readFileSync(new URL(`vectors/${name}`, import.meta.url), "utf8"));

const codeOf = (run) => {
  try {
    return { ok: run() };
  } catch (error) {
    return { code: error.code };
  }
};

test("colour depth is rounded down to the EMV set", () => {
  for (const { reading, sent } of vectors("color_depth.json").cases) {
    assert.equal(colorDepth(reading ?? undefined), sent, `reading ${reading}`);
  }
});

test("the language is a BCP47 tag of at most 8 characters", () => {
  for (const { input, sent, error } of vectors("language.json").cases) {
    assert.deepEqual(codeOf(() => language(input)), sent ? { ok: sent } : { code: error }, input);
  }
});

test("the browser details of the page match every page-side vector", () => {
  let checked = 0;
  for (const { name, page, server, expect, build_error: buildError } of vectors("browser_details.json").cases) {
    if (!page.javascriptEnabled || !server.acceptHeader || server.userAgent || !page.userAgent) continue;
    if (buildError === "invalid_ip") continue;
    const got = codeOf(() => collect({ ...page, javaEnabled: page.javaEnabled ?? undefined }));
    checked++;
    if (buildError) {
      assert.deepEqual(got, { code: buildError }, name);
      continue;
    }
    const areq = expect["2.2.0"] ?? expect["2.1.0"] ?? expect["2.3.1"];
    assert.ok(areq, name);
    assert.deepEqual(got.ok, {
      acceptHeader: "*/*",
      javaEnabled: areq.browserJavaEnabled,
      javascriptEnabled: true,
      language: areq.browserLanguage,
      colorDepth: Number(areq.browserColorDepth),
      screenHeight: Number(areq.browserScreenHeight),
      screenWidth: Number(areq.browserScreenWidth),
      timeZone: Number(areq.browserTZ),
      userAgent: areq.browserUserAgent,
    }, name);
  }
  assert.ok(checked >= 10, `only ${checked} page-side cases`);
});

test("a user agent longer than 2,048 characters is cut there, by characters", () => {
  const page = { language: "en", screenWidth: 1, screenHeight: 1, colorDepth: 24, timezoneOffset: 0 };
  assert.equal(collect({ ...page, userAgent: "é".repeat(3000) }).userAgent, "é".repeat(2048));
});
