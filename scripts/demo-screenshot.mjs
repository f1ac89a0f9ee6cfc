// Takes docs/demo-challenge.png: the demo checkout paying through Paysafe with the
// challenge card, caught while the issuer's challenge is on screen in the page.
// Run: node scripts/demo-screenshot.mjs (after `make native pkg`; THREEDS_BRIDGE_BIN as
// for the e2e suite).
import { join } from "node:path";

import {
  ROOT, challengeFrame, launchBrowser, openCheckout, startDemo,
} from "../tests/e2e/support.mjs";

const demo = await startDemo("screenshot");
const browser = await launchBrowser();
try {
  const { page, problems } = await openCheckout(browser, demo);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.selectOption("#provider", "paysafe");
  await page.selectOption("#card-preset", "4000000000002008");
  await page.click("#pay");
  const frame = await challengeFrame(page, demo.sandboxUrl);
  await frame.fill("#otp", "12");
  await page.waitForTimeout(300);
  const file = join(ROOT, "docs/demo-challenge.png");
  await page.screenshot({ path: file });
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`wrote ${file}`);
} finally {
  await browser.close();
  await demo.stop();
}
