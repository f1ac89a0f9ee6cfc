// What each provider's flow does with each contract card (../shared/contract.md), as the
// page's `#result` attributes show it. The provider-by-provider differences come from
// the providers' own documented behaviour (docs/sandbox/*.md, docs/backend/*.md) and are
// the same ones the native adapter tests (tests/provider_*.rs) assert.

const authorized = (transStatus, eci, liabilityShift = "true") => ({
  status: "authorized", transStatus, eci, liabilityShift,
});
const notAuthenticated = { status: "failed", errorCode: "authentication_failed", liabilityShift: "false" };
const cancelled = { status: "cancelled", errorCode: "challenge_cancelled", liabilityShift: "false" };
const declined = { status: "declined", errorCode: "declined", liabilityShift: "false" };

/** `cardholder`: the code typed at the ACS, or "cancel"; none for frictionless cards. */
export const SCENARIOS = [
  { name: "frictionless Y", pan: "4000000000001000", expect: authorized("Y", "05") },
  { name: "attempt A", pan: "4000000000001109", expect: authorized("A", "06") },
  { name: "not authenticated N", pan: "4000000000001208", expect: notAuthenticated },
  { name: "rejected R", pan: "4000000000001406", expect: notAuthenticated },
  { name: "challenge, code 1234", pan: "4000000000002008", cardholder: "1234", expect: authorized("Y", "05") },
  { name: "challenge, wrong code", pan: "4000000000002008", cardholder: "9999", expect: notAuthenticated },
  { name: "challenge cancelled", pan: "4000000000002008", cardholder: "cancel", expect: cancelled },
  { name: "3DS Method then challenge", pan: "4000000000002107", cardholder: "1234", expect: authorized("Y", "05") },
  { name: "3DS Method timeout", pan: "4000000000002206", expect: authorized("Y", "05"), slow: true },
  { name: "3DS 1.0.2 only", pan: "4000000000003006", cardholder: "1234", expect: { status: "authorized", eci: "05" } },
  { name: "issuer decline", pan: "4000000000004004", expect: declined },
];

/**
 * Where a provider's flow tells a scenario differently. Payroc's receipt and dLocal's
 * callback carry no challengeCancel, so a cancelled challenge reads as not authenticated
 * there; Paysafe and Bambora (cres) tell it apart.
 */
const DIFFERENCES = {
  payroc: { "challenge cancelled": notAuthenticated },
  dlocal: { "challenge cancelled": notAuthenticated },
  paysafe: {},
  bambora: { "challenge cancelled": notAuthenticated },
};

export const PROVIDERS = ["payroc", "dlocal", "paysafe", "bambora"];

/** The currency each provider's sandbox merchant takes (Bambora's settles in CAD only). */
export const CURRENCY = { payroc: "USD", dlocal: "BRL", paysafe: "USD", bambora: "CAD" };
export const MODES = ["iframe", "redirect"];

export function expectationFor(provider, scenario) {
  return DIFFERENCES[provider]?.[scenario.name] ?? scenario.expect;
}
