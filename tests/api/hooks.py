"""schemathesis hooks for `make test-api` (tests/api/schemathesis.toml loads this file;
scripts/test-api.sh sets the TEST_API_* variables).

What no schema can say, and one thing it says differently:
- which origins this deployment's checkout pages live on (returnUrl must be on one);
- which currency this deployment's Bambora account settles in (its only one);
- that the page reads its payment with its client secret *alone*;
- how dLocal signs a notification;
- that `2.0` is not an integer to this API (JSON Schema 2020-12 says it is).
"""

import datetime
import hashlib
import hmac
import json
import os
import re

import schemathesis

RETURN_URL = os.environ["TEST_API_CHECKOUT_ORIGIN"] + "/checkout/done"
RETURN_URL_OPERATIONS = {"POST /v1/payments", "POST /v1/payments/{id}/confirm"}
# The sandbox's Bambora merchant account settles in Canadian dollars only.
BAMBORA_CURRENCY = "CAD"
# The sandbox's dLocal account (its built-in, public credentials: ../shared/contract.md).
DLOCAL_LOGIN = "sak223k2wdksdl2"
DLOCAL_SECRET = b"sandbox-dlocal-secret"
DLOCAL_HEADERS = ("X-Date", "X-Login", "Authorization")


def _whole_floats_as_integers(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_floats_as_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_integers(v) for v in value]
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    label = case.operation.label
    # An integer member may be drawn spelled as a float (`2274.0`): JSON Schema 2020-12
    # counts that an integer, this API takes JSON integers only and refuses it (400
    # invalid_request "<member>: wrong type", as docs/openapi.yaml says: a float spelling
    # can hide a fraction, and money has none; tests/backend_trust.rs checks the refusal).
    # Sent as the integer it is, so the rest of the body is what gets judged.
    if isinstance(case.body, (dict, list)):
        case.body = _whole_floats_as_integers(case.body)
    # A returnUrl must be on a configured checkout origin. Any string schemathesis drew
    # there becomes one (in every phase: the coverage phase applies no body overrides
    # from the config), so a body is judged on everything else; a returnUrl of the wrong
    # type is sent as drawn. The backend's own returnUrl checks (length, control
    # characters, origin) are tests/backend_trust.rs's.
    if label in RETURN_URL_OPERATIONS and isinstance(case.body, dict):
        if isinstance(case.body.get("returnUrl"), str):
            case.body["returnUrl"] = RETURN_URL
        # Display redirect, and Payroc's and dLocal's pages of their own in any display,
        # need a returnUrl from the create or the confirm; which of the two the create set,
        # and for which provider, no schema of the confirm can know: the confirm brings one.
        if label.endswith("/confirm"):
            case.body.setdefault("returnUrl", RETURN_URL)
    # A Bambora account settles in one currency, its own (400 invalid_currency at create
    # for any other): a well-formed currency drawn for a Bambora create becomes this
    # deployment's, so the body is judged on everything else; a malformed one is sent as
    # drawn (tests/native/create_terms.rs checks the refusal of another account's).
    if (
        label == "POST /v1/payments"
        and isinstance(case.body, dict)
        and case.body.get("provider") == "bambora"
        and isinstance(case.body.get("currency"), str)
        and re.fullmatch(r"[A-Z]{3}", case.body["currency"])
    ):
        case.body["currency"] = BAMBORA_CURRENCY
    # The page reads its payment with X-Client-Secret alone (only the ReadAsPage link sets
    # it: schemathesis.toml generates no security parameters); with the merchant's key
    # beside it the backend answers the merchant's view, and the page's view would never
    # be read. The secret is the API's own answer, so it counts as deliberate
    # authentication (schemathesis would call a header it did not configure "generated"
    # and expect it refused); its ignored_auth check then removes it and forges it, and
    # expects 401.
    if label == "GET /v1/payments/{id}" and "X-Client-Secret" in (case.headers or {}):
        case.headers.pop("Authorization", None)
        case._has_explicit_auth = True
    # dLocal signs its notifications (HMAC over login + X-Date + body): a drawn signature
    # never verifies, and the body behind it would never be read. A notification that
    # carries the three headers and a JSON object is signed as dLocal would sign it, over
    # the exact bytes sent; any other is sent as drawn (the backend must refuse it).
    if (
        label == "POST /v1/webhooks/dlocal"
        and all(h in (case.headers or {}) for h in DLOCAL_HEADERS)
        and isinstance(case.body, dict)
    ):
        body = json.dumps(case.body, separators=(",", ":")).encode()
        now = datetime.datetime.now(datetime.timezone.utc)
        date = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        signature = hmac.new(DLOCAL_SECRET, DLOCAL_LOGIN.encode() + date.encode() + body, hashlib.sha256)
        case.headers.update({
            "X-Date": date,
            "X-Login": DLOCAL_LOGIN,
            "Authorization": "V2-HMAC-SHA256, Signature: " + signature.hexdigest(),
        })
        kwargs["data"] = body
