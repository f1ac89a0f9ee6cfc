/** How the page shows the issuer's pages. */
export type DisplayMode = "iframe" | "redirect";

/** EMV challengeWindowSize: 01 = 250×400, 02 = 390×400, 03 = 500×600, 04 = 600×400, 05 = full screen. */
export type ChallengeWindowSize = "01" | "02" | "03" | "04" | "05";

/** Options of `new ThreeDSecure(options)`. */
export interface ThreeDSecureOptions {
  /** The merchant backend's public URL (the thin backend of threeds-bridge). */
  backendUrl: string;
  /** Where the challenge iframe goes; without one (and always for 05) a modal `<dialog>`. */
  container?: HTMLElement;
  /** `iframe` (default) or `redirect`: the challenge as a full-page redirect, finished by `resume()`. */
  display?: DisplayMode;
  /** `auto` (default), from the real width: in the dialog (no container) narrower than
   * 600 px, 05 (full screen); in a container narrower than 390 px, 01; else the largest
   * size that fits the container, or the viewport. The iframe never gets wider than the page. */
  challengeWindowSize?: "auto" | ChallengeWindowSize;
  /** The language of the module's labels (the close control, the waiting status): `en`,
   * `fr`, `de`, `es`, `pt` or `it`, by the tag's first part (`fr-CA` is `fr`). Default: the
   * page's `<html lang>`; any other language is English. */
  locale?: string;
  /** `false` turns off the module's waiting status: a `role="status"` `aria-live="polite"`
   * line ("Verifying your payment…"), class `threeds-bridge-status`, shown while the 3DS
   * Method and the backend work (in the container, or fixed at the bottom of the page
   * without one). Default `true`. Theme it, and the challenge's bar, with the custom
   * properties `--tdsb-fg` (text), `--tdsb-bar-bg` (the bar and the status) and `--tdsb-bg`
   * (behind the issuer's page), set on `:root` or the container. */
  waitingStatus?: boolean;
  /** Progress for a UI; an exception thrown here is ignored. */
  onEvent?: (event: ProgressEvent) => void;
  /** The 3DS Method's deadline (default 10000): after it the Method counts as N. */
  methodTimeoutMs?: number;
  /** Give up on a challenge after this long (default 900000, 15 minutes: a live ACS ends a
   * challenge itself after 10 minutes without the cardholder; one whose page never loads
   * does not): the payment is cancelled at the backend and `pay()` rejects `timeout`,
   * unless it had ended otherwise first (its result then), or a provider call is under way
   * or in doubt, which the backend cannot cancel (`pending`, as for `cancel()`). */
  challengeTimeoutMs?: number;
}

/** A card typed into the page, or a provider token. The card goes to the backend only. */
export type PaymentMethod =
  | { type: "card"; number: string; expiryMonth: number; expiryYear: number; cvv: string; holderName: string }
  | { type: "token"; token: string; bin?: string };

/** What `pay()` confirms (named apart from the DOM's `PaymentRequest`). The merchant's
 * server created the payment (`POST /v1/payments` with its API key: provider, order,
 * amount, currency, payer) and handed the page its `clientSecret`; the page adds only
 * how to pay. The module adds `browser`, `display`, `windowSize`, `checkoutOrigin` and
 * `returnUrl` (this page's URL; a `returnUrl` the server set at create wins). Any other
 * member goes to the backend as is, which refuses what the page may not set
 * (`amount`, `currency`, `orderId`, `provider`, … → `field_not_allowed`). */
export interface PayRequest {
  /** `{32 hex}_secret_{32 hex}`, as `POST /v1/payments` answered your server; anything
   * else rejects with `invalid_options` before any request. */
  clientSecret: string;
  paymentMethod: PaymentMethod;
}

export interface PayOptions {
  /** Aborting it tears the payment down like `cancel()`. */
  signal?: AbortSignal;
}

/** The backend-confirmed result (or a local `cancelled` when the page gave up first). */
export interface PaymentResult {
  status: "authorized" | "declined" | "failed" | "cancelled" | "error";
  /** The backend's payment id: the one the client secret names. */
  paymentId: string;
  /** What the merchant's server created the payment with (minor units), to show the
   * cardholder. `null` only in a local `cancelled` result (the page gave up while the
   * backend had no result yet). Fulfil an order from your server's own read of the
   * payment, never from these. */
  amount: number | null;
  currency: string | null;
  orderId: string | null;
  providerPaymentId: string | null;
  threeDsVersion: string | null;
  transStatus: string | null;
  eci: string | null;
  liabilityShift: boolean;
  error: null | {
    code:
      | "authentication_failed" | "challenge_cancelled" | "declined" | "provider_rejected"
      | "provider_timeout" | "provider_bad_response" | "provider_unavailable" | "session_expired"
      | "token_expired" | "token_used" | "cancelled_by_merchant" | "cancelled_by_shopper";
    providerCode?: string;
    providerMessage?: string;
  };
}

/** A progress event: `type`, `at` (ms since the epoch) and the step's detail. */
export type ProgressEvent =
  | { type: "browser-details"; at: number }
  | { type: "method-started"; at: number }
  | { type: "method-completed"; at: number; completion: "Y" | "N" | "U" }
  | { type: "challenge-shown"; at: number; windowSize: ChallengeWindowSize }
  | { type: "challenge-completed"; at: number }
  | { type: "authorizing"; at: number }
  | { type: "redirecting"; at: number }
  | { type: "done"; at: number; status: PaymentResult["status"] };

/** EMV browser details (the backend replaces `acceptHeader` with the header it received). */
export interface BrowserDetails {
  acceptHeader: string;
  javaEnabled: boolean;
  javascriptEnabled: true;
  /** BCP47, at most 8 characters (zh-Hant-TW → zh-TW). */
  language: string;
  /** 1, 4, 8, 15, 16, 24, 32 or 48 (30 → 24). */
  colorDepth: number;
  screenHeight: number;
  screenWidth: number;
  /** `getTimezoneOffset()`: UTC minus local time in minutes (India → -330). */
  timeZone: number;
  userAgent: string;
}

/** Every stable code a `ThreeDSecureError` can have (tests/error_codes.test.mjs keeps it
 * equal to the codes in the Rust code): the module's own, the EMV rules' and the backend API's. */
export type ThreeDSecureErrorCode =
  // the module
  | "network" | "timeout" | "aborted" | "bad_response" | "invalid_options" | "busy" | "unsupported"
  | "pending"
  // the page's own browser readings broke an EMV rule
  | "invalid_field" | "missing_field" | "invalid_base64url" | "invalid_json" | "invalid_trans_status"
  | "unexpected_message_type" | "invalid_challenge_window_size" | "invalid_ip" | "invalid_card_number"
  | "javascript_required" | "unsupported_message_version"
  // the backend (docs/openapi.yaml)
  | "invalid_client_secret" | "missing_client_secret" | "field_not_allowed" | "too_many_attempts"
  | "not_found" | "origin_not_allowed" | "wrong_state" | "invalid_request" | "invalid_window_size"
  | "invalid_browser_details" | "invalid_token" | "invalid_return_url" | "invalid_description"
  | "invalid_amount" | "invalid_currency" | "invalid_order_id" | "duplicate_payment"
  | "missing_api_key" | "invalid_api_key" | "missing_credentials" | "provider_not_configured"
  | "provider_unavailable" | "rate_limited" | "body_too_large" | "body_timeout" | "method_not_allowed"
  | "edge_misconfigured" | "store_unavailable" | "store_corrupt" | "store_schema_too_new";

/** How `pay()`, `resume()` and the constructor fail: an Error with a stable code —
 * the backend's codes (`invalid_client_secret`, `field_not_allowed`, `too_many_attempts`,
 * `not_found`, `origin_not_allowed`, …) plus
 * `network`, `timeout`, `aborted`, `bad_response`, `invalid_options`, `busy`, `unsupported`,
 * `pending` (the backend is still confirming the payment with the provider — its status is
 * `processing` or `unknown`: show "processing, we will confirm", do not ask to pay again; the
 * merchant's server learns the outcome by reading the payment), and the EMV codes
 * `invalid_field` / `missing_field` when the page's own readings break a rule. */
export interface ThreeDSecureError extends Error {
  code: ThreeDSecureErrorCode;
}

// `ThreeDSecure` has `[Symbol.dispose]()` (`using tds = new ThreeDSecure(…)`; at run time
// only where the engine has Symbol.dispose). Declared here so that these types check
// under `lib: es2022` too, without skipLibCheck; the same declaration as lib.esnext's, so
// both merge.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}
