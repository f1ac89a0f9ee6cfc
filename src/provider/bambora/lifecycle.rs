//! Bambora's side of capture, void and refund: the pre-auth completion
//! (`POST /v1/payments/{transId}/completions`), the void (`…/void`, the authorized
//! amount) and the return (`…/returns`, against the completion when there is one).
//!
//! Bambora takes no idempotency key, so none of these is ever sent twice. Each carries
//! the operation's own `order_number` (the first 30 of its reference's 32 hex digits;
//! Bambora's order numbers are at most 30 characters), and an operation whose answer was
//! lost is looked up in the Reporting API's search by that order number and the
//! transaction type (`PAC` completion, `VP` void, `R` return): the approved transaction
//! found is the operation's; none found means Bambora never made it. See
//! docs/backend/bambora.md "Capture, void and refund".

use serde::Serialize;

use super::wire::{self, Amount};
use super::{outcome, BamboraAdapter};
use crate::provider::answer::{Answer, ProviderError};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationErrorCode, OperationKind,
    OperationResult, OperationStep,
};
use crate::provider::{Context, HttpRequest};

/// How far back a lookup searches. The search is by the operation's own order number, so
/// the window only has to reach back to the operation: an answer "no such transaction" is
/// read as "never made", so it must outlast any doubt (a Reporting passcode wrong for
/// weeks, a provider unconfigured meanwhile), not only the minutes a lookup usually takes.
const LOOKUP_WINDOW_MS: u64 = 5 * 366 * 24 * 60 * 60 * 1000;

/// The body of a completion, void or return. A completion's is a `PaymentRequest`
/// (swagger `completePayment`), whose `payment_method` is required; a void's and a
/// return's take none.
#[derive(Serialize)]
struct OperationBody<'a> {
    amount: serde_json::Number,
    order_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_method: Option<&'static str>,
}

/// The error codes Bambora answers an operation with (docs/sandbox/bambora.md lists
/// them), as stable codes.
fn code_of(error: &ProviderError) -> OperationErrorCode {
    match error.code.as_str() {
        wire::CODE_AMOUNT_TOO_LARGE => OperationErrorCode::AmountTooLarge,
        wire::CODE_ALREADY_COMPLETED => OperationErrorCode::AlreadyCaptured,
        wire::CODE_ALREADY_VOIDED => OperationErrorCode::AlreadyVoided,
        wire::CODE_PREAUTH_EXPIRED => OperationErrorCode::AuthorizationExpired,
        wire::CODE_NOTHING_TO_RETURN => OperationErrorCode::NotCaptured,
        _ => OperationErrorCode::ProviderRejected,
    }
}

/// The operation's order number: its reference, cut to Bambora's 30 characters.
pub(super) fn order_number(op: &Operation) -> &str {
    op.reference.get(..30).unwrap_or(&op.reference)
}

/// Bambora's transaction type of each operation in a search record.
fn transaction_type(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Capture => "PAC",
        OperationKind::Void => "VP",
        OperationKind::Refund => "R",
    }
}

impl BamboraAdapter {
    pub(super) fn operation_request(
        &self,
        op: &Operation,
    ) -> Result<OperationStep, OperationError> {
        let amount = Amount::new(op.amount).ok_or_else(|| {
            OperationError::new(OperationErrorCode::AmountTooLarge)
                .with_provider("amount", "above Bambora's largest amount")
        })?;
        let (path, purpose, target) = match op.kind {
            OperationKind::Capture => {
                ("completions", "bambora.completion", &op.provider_payment_id)
            }
            OperationKind::Void => ("void", "bambora.void", &op.provider_payment_id),
            OperationKind::Refund => (
                "returns",
                "bambora.return",
                op.capture_id.as_ref().unwrap_or(&op.provider_payment_id),
            ),
        };
        if target.is_empty() || !target.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OperationError::new(OperationErrorCode::ProviderBadResponse)
                .with_provider(
                    "transaction_id",
                    "the authorization has no Bambora transaction id",
                ));
        }
        let body = OperationBody {
            amount: amount.json(),
            order_number: order_number(op),
            payment_method: (op.kind == OperationKind::Capture).then_some("card"),
        };
        // Not retry-safe (the default): Bambora would make a second completion or return.
        let request = self.post(&format!("/v1/payments/{target}/{path}"), &body, purpose);
        Ok(OperationStep::Call {
            call: OperationCall::Send,
            request,
        })
    }

    pub(super) fn operation_answer(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
    ) -> OperationStep {
        let answer = Answer::of(response, outcome::provider_error);
        match call {
            OperationCall::Send => sent(op, answer),
            OperationCall::Lookup => searched(op, answer),
            // Bambora needs no token call: an answer to one is none of ours.
            OperationCall::Authorize => OperationStep::Unknown,
        }
    }

    /// `POST /v1/reports`: the transactions with the operation's order number.
    pub(super) fn operation_search(&self, op: &Operation, cx: &Context) -> OperationStep {
        let query = wire::SearchQuery {
            name: "Search",
            start_date: wire::report_date(cx.now_ms.saturating_sub(LOOKUP_WINDOW_MS)),
            end_date: wire::report_date(cx.now_ms.saturating_add(super::SEARCH_MARGIN_MS)),
            start_row: 1,
            end_row: wire::MAX_SEARCH_ROWS,
            criteria: vec![wire::Criterion {
                field: wire::FIELD_ORDER_NUMBER,
                operator: wire::EQUALS,
                value: order_number(op),
            }],
        };
        let body = serde_json::to_string(&query).unwrap_or_default();
        let request = HttpRequest::post_json(
            self.config.url("/v1/reports"),
            body,
            "bambora.operation_search",
        )
        .header("Authorization", self.config.reporting_authorization())
        .retry_safe();
        OperationStep::Call {
            call: OperationCall::Lookup,
            request,
        }
    }
}

/// The completion's, void's or return's own answer.
fn sent(op: &Operation, answer: Answer) -> OperationStep {
    match answer {
        Answer::Found(found) => match crate::json_path::from_text::<wire::Payment>(&found.body) {
            Ok(payment) if payment.approved == "1" => {
                OperationStep::Done(OperationResult::Succeeded {
                    amount: payment.amount.unwrap_or(op.amount),
                    provider_operation_id: payment.id,
                })
            }
            Ok(payment) => OperationStep::Done(OperationResult::Refused(
                OperationError::new(OperationErrorCode::ProviderRejected).with_provider(
                    payment.message_id.unwrap_or_default(),
                    payment.message.unwrap_or_default(),
                ),
            )),
            // An answer that cannot be read may hide a made transaction: look it up.
            Err(_) => OperationStep::Unknown,
        },
        Answer::Refused { error, .. } => OperationStep::Done(OperationResult::Refused(
            OperationError::new(code_of(&error)).with_provider(error.code, error.message),
        )),
        Answer::Lost(_) => OperationStep::Unknown,
    }
}

/// The search's answer: the operation's approved transaction, or none (Bambora never
/// made it), or still in doubt when the search could not tell.
fn searched(op: &Operation, answer: Answer) -> OperationStep {
    let Answer::Found(found) = answer else {
        return OperationStep::Unknown;
    };
    let Ok(result) = crate::json_path::from_text::<wire::SearchResult>(&found.body) else {
        return OperationStep::Unknown;
    };
    let kind = transaction_type(op.kind);
    let records = result.records();
    let mine: Vec<&wire::SearchRecord> = records
        .iter()
        .filter(|r| r.trn_order_number == order_number(op))
        .filter(|r| r.trn_type.as_deref() == Some(kind))
        .collect();
    let approved: Vec<&&wire::SearchRecord> = mine
        .iter()
        .filter(|r| r.trn_response.as_deref() == Some("1"))
        .collect();
    match approved.as_slice() {
        [one] => OperationStep::Done(OperationResult::Succeeded {
            provider_operation_id: one.trn_id.clone(),
            amount: one.trn_amount.unwrap_or(op.amount),
        }),
        [] if mine.is_empty() => OperationStep::Done(OperationResult::Refused(
            OperationError::new(OperationErrorCode::ProviderTimeout).with_provider(
                "not_found",
                "Bambora has no transaction for this operation: it was never made",
            ),
        )),
        [] => OperationStep::Done(OperationResult::Refused(
            OperationError::new(OperationErrorCode::ProviderRejected)
                .with_provider("declined", "Bambora declined this operation"),
        )),
        _ => OperationStep::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::CaptureMode;
    use crate::provider::bambora::Config;
    use crate::provider::{Adapter, HttpResponse, TransportFailure};

    fn op(kind: OperationKind, amount: u64) -> Operation {
        Operation {
            kind,
            amount,
            currency: crate::order::Currency::parse("CAD").unwrap(),
            order_id: crate::order::OrderId::parse("order-1").unwrap(),
            authorized_amount: 1000,
            capture_mode: CaptureMode::Manual,
            provider_payment_id: "10000001".into(),
            capture_id: Some("10000002".into()),
            reference: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    fn cx() -> Context {
        Context {
            now_ms: 1_700_000_000_000,
            session_id: "s".into(),
            public_url: "https://shop.test".into(),
        }
    }

    fn adapter() -> BamboraAdapter {
        BamboraAdapter::new(Config::sandbox("http://sandbox.test"))
    }

    fn answer(status: u16, body: &str) -> OperationAnswer {
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        })
    }

    #[test]
    fn each_operation_posts_its_path_with_the_amount_and_its_own_order_number() {
        let a = adapter();
        // A completion's body is a PaymentRequest: its payment_method is required.
        for (kind, path, method) in [
            (
                OperationKind::Capture,
                "/v1/payments/10000001/completions",
                serde_json::json!("card"),
            ),
            (
                OperationKind::Void,
                "/v1/payments/10000001/void",
                serde_json::Value::Null,
            ),
            (
                OperationKind::Refund,
                "/v1/payments/10000002/returns",
                serde_json::Value::Null,
            ),
        ] {
            let Ok(OperationStep::Call { call, request }) = a.operation(&op(kind, 1050), &cx())
            else {
                panic!("a call for {kind:?}");
            };
            assert_eq!(call, OperationCall::Send);
            assert!(request.url.ends_with(path), "{}", request.url);
            assert!(
                !request.retry_safe,
                "never resent: Bambora has no idempotency key"
            );
            let body: serde_json::Value =
                serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
            assert_eq!(body["amount"], serde_json::json!(10.5));
            assert_eq!(body["order_number"], "0123456789abcdef0123456789abcd");
            assert_eq!(body["payment_method"], method, "{kind:?}");
        }
    }

    #[test]
    fn answers_become_results_refusals_or_doubt() {
        let a = adapter();
        let op = op(OperationKind::Capture, 600);
        let approved = r#"{"id":"10000003","approved":"1","message_id":"1","message":"Approved","amount":6.00}"#;
        assert_eq!(
            a.on_operation_response(&op, OperationCall::Send, answer(200, approved), &cx()),
            OperationStep::Done(OperationResult::Succeeded {
                provider_operation_id: "10000003".into(),
                amount: 600
            })
        );
        let expired = r#"{"code":196,"category":2,"message":"Pre-authorization expired"}"#;
        let OperationStep::Done(OperationResult::Refused(error)) =
            a.on_operation_response(&op, OperationCall::Send, answer(400, expired), &cx())
        else {
            panic!("refused");
        };
        assert_eq!(error.code, OperationErrorCode::AuthorizationExpired);
        assert_eq!(error.provider_code.as_deref(), Some("196"));
        for lost in [Err(TransportFailure::Timeout), answer(503, "")] {
            assert_eq!(
                a.on_operation_response(&op, OperationCall::Send, lost, &cx()),
                OperationStep::Unknown
            );
        }
    }

    #[test]
    fn a_lookup_finds_the_operations_own_transaction_or_none() {
        let a = adapter();
        let op = op(OperationKind::Refund, 400);
        let OperationStep::Call { call, request } = a.operation_lookup(&op, &cx()) else {
            panic!("a search");
        };
        assert_eq!(call, OperationCall::Lookup);
        let body: serde_json::Value = serde_json::from_str(&request.body.unwrap()).unwrap();
        assert_eq!(
            body["criteria"][0]["value"],
            "0123456789abcdef0123456789abcd"
        );
        // A refund still in doubt a year on (its lookups refused meanwhile) is in reach:
        // "none found" must not be read from a window that ended before it.
        let a_year_before = wire::report_date(cx().now_ms - 366 * 24 * 60 * 60 * 1000);
        assert!(
            body["start_date"].as_str().unwrap() < a_year_before.as_str(),
            "{body}"
        );
        let found = r#"{"records":[
            {"trn_id":10000009,"trn_order_number":"0123456789abcdef0123456789abcd","trn_type":"R","trn_amount":4.00,"trn_response":1},
            {"trn_id":10000001,"trn_order_number":"order-1","trn_type":"PA","trn_amount":10.00,"trn_response":1}]}"#;
        assert_eq!(
            a.on_operation_response(&op, OperationCall::Lookup, answer(200, found), &cx()),
            OperationStep::Done(OperationResult::Succeeded {
                provider_operation_id: "10000009".into(),
                amount: 400
            })
        );
        let OperationStep::Done(OperationResult::Refused(error)) = a.on_operation_response(
            &op,
            OperationCall::Lookup,
            answer(200, r#"{"records":[]}"#),
            &cx(),
        ) else {
            panic!("never made");
        };
        assert_eq!(error.code, OperationErrorCode::ProviderTimeout);
        assert_eq!(
            a.on_operation_response(&op, OperationCall::Lookup, answer(500, ""), &cx()),
            OperationStep::Unknown
        );
    }
}
