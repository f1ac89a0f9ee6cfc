// The baseline of `make bench-browser`: the EMV browser details collected in plain
// JavaScript, by the same rules as the module's Rust (src/emv/browser.rs,
// src/browser/details.rs) and checked against the same vectors (tests/vectors, by
// tests/bench_baseline.test.mjs), so that the benchmark compares equal work:
// - colour depth rounded down to the EMV set (1, 4, 8, 15, 16, 24, 32, 48; missing or
//   below 1 → 24);
// - timeZone exactly getTimezoneOffset(): UTC minus local time in minutes, its sign kept
//   (UTC−5 → 300, India → −330), at most 4 digits;
// - language a BCP47 tag of at most 8 characters (longer: language-region, else language);
// - screen sizes of 0 to 6 digits; javaEnabled() guarded (gone or throwing → false);
// - the user agent cut at 2,048 characters.
// A reading that breaks a rule throws an Error with the module's code (missing_field,
// invalid_field). Not part of the package.

const DEPTHS = [48, 32, 24, 16, 15, 8, 4, 1];
const MAX_HEADER_CHARS = 2048;

function fail(code, field) {
  throw Object.assign(new Error(`${field}: ${code}`), { code });
}

export function colorDepth(reading) {
  const bits = typeof reading == "number" ? Math.trunc(reading) : 0;
  return bits >= 1 ? DEPTHS.find((depth) => depth <= bits) : 24;
}

export function language(tag) {
  const subtags = [];
  let region;
  tag.trim().split(/[-_]/).forEach((subtag, position) => {
    const alpha = /^[a-z]+$/i.test(subtag), digits = /^[0-9]+$/.test(subtag);
    if (!/^[a-z0-9]{1,8}$/i.test(subtag) || (position == 0 && (subtag.length < 2 || !alpha)))
      fail("invalid_field", "browserLanguage");
    let text = subtag.toLowerCase();
    if (position == 1 && subtag.length == 4 && alpha) {
      text = text[0].toUpperCase() + text.slice(1);
    } else if (position > 0 && position <= 2 && region === undefined &&
      ((subtag.length == 2 && alpha) || (subtag.length == 3 && digits))) {
      text = text.toUpperCase();
      region = position;
    }
    subtags.push(text);
  });
  const whole = subtags.join("-");
  if (whole.length <= 8) return whole;
  const [first] = subtags;
  return region !== undefined && first.length + 1 + subtags[region].length <= 8
    ? `${first}-${subtags[region]}` : first;
}

function integer(reading, field, min, max) {
  if (typeof reading != "number") fail("missing_field", field);
  const value = Math.trunc(reading);
  if (!(value >= min && value <= max)) fail("invalid_field", field);
  return value;
}

function truncate(text, max) {
  const chars = Array.from(text);
  return chars.length > max ? chars.slice(0, max).join("") : text;
}

// The EMV rules over the page's readings (what read() returns; the vectors' `page`).
export function collect(page) {
  if (typeof page.language != "string") fail("missing_field", "browserLanguage");
  const browserLanguage = language(page.language);
  return {
    acceptHeader: "*/*",
    javaEnabled: page.javaEnabled === true,
    javascriptEnabled: true,
    language: browserLanguage,
    colorDepth: colorDepth(page.colorDepth),
    screenHeight: integer(page.screenHeight, "browserScreenHeight", 0, 999999),
    screenWidth: integer(page.screenWidth, "browserScreenWidth", 0, 999999),
    timeZone: integer(page.timezoneOffset, "browserTZ", -9999, 9999),
    userAgent: typeof page.userAgent == "string" ? truncate(page.userAgent, MAX_HEADER_CHARS) : "",
  };
}

// What the page reads, as JavaScript gives it.
export function read(w = window) {
  const { navigator: n, screen: s } = w;
  let javaEnabled;
  try { javaEnabled = n.javaEnabled(); } catch {}
  return {
    screenWidth: s?.width, screenHeight: s?.height, colorDepth: s?.colorDepth,
    timezoneOffset: new Date().getTimezoneOffset(), language: n?.language,
    javaEnabled, userAgent: n?.userAgent,
  };
}

export function collectBrowserDetails(w = window) {
  return collect(read(w));
}
