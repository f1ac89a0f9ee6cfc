// The sandbox's test cards (../shared/contract.md), each with the scenario the issuer
// plays for it. Any future expiry and any CVV work.
export const CARDS = [
  { group: "Frictionless", pan: "4000000000001000", brand: "Visa", scenario: "frictionless Y, ECI 05" },
  { group: "Frictionless", pan: "4000000000001109", brand: "Visa", scenario: "attempt A, ECI 06" },
  { group: "Frictionless", pan: "4000000000001208", brand: "Visa", scenario: "not authenticated N, no authorization" },
  { group: "Frictionless", pan: "4000000000001307", brand: "Visa", scenario: "authentication unavailable U" },
  { group: "Frictionless", pan: "4000000000001406", brand: "Visa", scenario: "rejected by issuer R, no authorization" },
  { group: "Frictionless", pan: "5200000000001005", brand: "Mastercard", scenario: "frictionless Y, ECI 02" },
  { group: "Frictionless", pan: "5200000000001104", brand: "Mastercard", scenario: "attempt, ECI 01" },
  { group: "Challenge (code 1234 passes)", pan: "4000000000002008", brand: "Visa", scenario: "challenge; the code decides" },
  { group: "Challenge (code 1234 passes)", pan: "4000000000002107", brand: "Visa", scenario: "3DS Method first, then challenge" },
  { group: "Challenge (code 1234 passes)", pan: "5200000000002003", brand: "Mastercard", scenario: "challenge, ECI 02 on success" },
  { group: "Challenge (code 1234 passes)", pan: "370000000000200", brand: "Amex", scenario: "challenge, ECI 05 on success" },
  { group: "3DS Method", pan: "4000000000002206", brand: "Visa", scenario: "Method never answers (N after 10 s), then Y" },
  { group: "3-D Secure 1.0.2", pan: "4000000000003006", brand: "Visa", scenario: "1.0.2 only: PaReq/PaRes challenge" },
  { group: "3-D Secure 1.0.2", pan: "4000000000003105", brand: "Visa", scenario: "1.0.2, not enrolled" },
  { group: "Issuer decline", pan: "4000000000004004", brand: "Visa", scenario: "authenticates Y, then declined" },
  { group: "Bambora's documented cards", pan: "4012000033330026", brand: "Visa", scenario: "frictionless success" },
  { group: "Bambora's documented cards", pan: "4012004040524514", brand: "Visa", scenario: "attempted" },
  { group: "Bambora's documented cards", pan: "4012001775445550", brand: "Visa", scenario: "failed" },
  { group: "Bambora's documented cards", pan: "4012007153923001", brand: "Visa", scenario: "challenge" },
];
