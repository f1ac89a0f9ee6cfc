// Runs this example worker locally in miniflare (the real workerd) against the provider
// sandbox: `threeds-bridge sandbox --port 8081 --payroc-receipt-url 4479001=http://127.0.0.1:8787/v1/returns/payroc`
// in one terminal, `node examples/edge-worker/local.mjs` in another (after `make edge`).
// Sessions persist in .edge-sessions/ (delete it to start afresh). Ctrl-C stops.
//   PORT (default 8787), SANDBOX_URL (default http://127.0.0.1:8081),
//   CHECKOUT_ORIGINS (comma-separated, default http://127.0.0.1:8080),
//   MERCHANT_API_KEY (the merchant's server's key, at least 16 characters; default the
//   sandbox-only demo-merchant-key)
import { SANDBOX_SECRETS, sandboxConfig, startWorker } from "./miniflare.mjs";

const port = Number(process.env.PORT ?? 8787);
const publicUrl = `http://127.0.0.1:${port}`;
const config = sandboxConfig({
  publicUrl,
  sandboxUrl: process.env.SANDBOX_URL ?? "http://127.0.0.1:8081",
  checkoutOrigins: (process.env.CHECKOUT_ORIGINS ?? "http://127.0.0.1:8080").split(","),
});
const secrets = { ...SANDBOX_SECRETS, MERCHANT_API_KEY: process.env.MERCHANT_API_KEY ?? SANDBOX_SECRETS.MERCHANT_API_KEY };
const { mf, url } = await startWorker({ port, config, persistDir: ".edge-sessions", secrets });
console.log(`threeds-bridge edge worker: ${url} (sandbox ${config.providers.dlocal.base_url.replace(/\/dlocal$/, "")})`);
if (process.env.MERCHANT_API_KEY === undefined) {
  console.log(`merchant API key (sandbox only): ${secrets.MERCHANT_API_KEY}`);
}
process.on("SIGINT", async () => {
  await mf.dispose();
  process.exit(0);
});
