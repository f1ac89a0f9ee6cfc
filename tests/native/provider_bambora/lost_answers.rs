//! Lost answers: a create, a continue or a lookup whose answer never arrives, an outage and a
//! hung Bambora. Each is looked up by order number, never sent twice, and charged at most
//! once.

use super::*;

/// Sends the create (or continue) of `pan` with `rule` in force for it; a payment in
/// doubt is looked up (`reconcile`) with the fault cleared, as the host would later.
/// Also says whether the payment was in doubt.
async fn under_fault(
    rule: FaultRule,
    pan: &str,
    at_continue: bool,
) -> (PaymentResult, RunningSandbox, bool) {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id(&format!("fault{pan}")));
    let mut step = adapter.start(&payment(pan), &cx);
    let mut in_doubt = false;
    for _ in 0..8 {
        step = match step {
            Step::Unknown { state } => {
                in_doubt = true;
                adapter.reconcile(state, &cx)
            }
            Step::Call { state, request } => {
                let lookup = matches!(request.purpose, "bambora.search" | "bambora.read");
                assert_eq!(request.retry_safe, lookup, "{}", request.purpose);
                let faulty = !lookup && (request.purpose == "bambora.continue") == at_continue;
                if faulty && !in_doubt {
                    sandbox.sandbox.faults.set(vec![rule.clone()]);
                }
                // The host's own deadline for a provider call.
                let answer =
                    tokio::time::timeout(std::time::Duration::from_secs(2), flow::send(&request))
                        .await
                        .unwrap_or(Err(TransportFailure::Timeout));
                sandbox.sandbox.faults.set(Vec::new());
                adapter.on_response(state, answer, &cx)
            }
            Step::Browser { state, action } => {
                let BrowserAction::Challenge { form, .. } = action else {
                    panic!()
                };
                let back = flow::follow((&form).into(), Cardholder::Types("1234")).await;
                adapter
                    .on_browser_return(state, &back, &cx)
                    .expect("the genuine return")
            }
            Step::Refused { refused, .. } => panic!("refused: {refused:?}"),
            Step::Done(result) => return (result, sandbox, in_doubt),
        };
    }
    panic!("did not finish");
}

fn rule(endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some(endpoint.to_owned()),
        ..FaultRule::default()
    }
}

/// Bambora charged, and the create's answer was lost: the payment is in doubt, the
/// create is never sent again, and the lookup by order number finds the one charge.
#[tokio::test]
async fn a_lost_create_answer_is_looked_up_and_never_sent_twice() {
    let (result, sandbox, in_doubt) = under_fault(
        FaultRule {
            drop_after_commit: true,
            ..rule("/v1/payments")
        },
        "4000000000001000",
        false,
    )
    .await;
    assert!(in_doubt);
    assert_authorized(&result, "2", TransStatus::Y, 5, true);
    let entries = ledger(&sandbox);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].order_id, "order-1000");
    assert_eq!(
        result.provider_payment_id.as_deref(),
        Some(entries[0].provider_payment_id.as_str())
    );
}

#[tokio::test]
async fn a_lost_continue_answer_is_looked_up_with_one_charge() {
    let (result, sandbox, in_doubt) = under_fault(
        FaultRule {
            drop_after_commit: true,
            ..rule("/v1/payments/")
        },
        "4000000000002008",
        true,
    )
    .await;
    assert!(in_doubt);
    assert_authorized(&result, "2.2.0", TransStatus::Y, 5, true);
    assert_eq!(ledger(&sandbox).len(), 1);
}

/// A 5xx or no answer at all: in doubt, looked up, and nothing was charged.
#[tokio::test]
async fn an_outage_or_a_hung_bambora_is_looked_up_and_charges_nothing() {
    for fault in [
        FaultRule {
            error_rate: 1.0,
            error_status: Some(500),
            ..rule("/v1/payments")
        },
        FaultRule {
            hang: true,
            ..rule("/v1/payments")
        },
    ] {
        let (result, sandbox, in_doubt) = under_fault(fault, "4000000000001000", false).await;
        assert!(in_doubt);
        assert_eq!(result.status, PaymentStatus::Failed, "{result:?}");
        let error = result.error.unwrap();
        assert_eq!(error.provider_code.as_deref(), Some("not_found"));
        assert!(ledger(&sandbox).is_empty());
    }
}

/// The lookup's own answer lost (the search fails): the payment stays in doubt, and the
/// next lookup, answered, finds the charge.
#[tokio::test]
async fn a_lost_lookup_keeps_the_payment_in_doubt_until_one_is_answered() {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id("lostlookup"));
    let Step::Call { state, request } = adapter.start(&payment("4000000000001000"), &cx) else {
        panic!("a create")
    };
    sandbox.sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule("/v1/payments")
    }]);
    let answer = flow::send(&request).await;
    let Step::Unknown { state } = adapter.on_response(state, answer, &cx) else {
        panic!("in doubt")
    };
    sandbox.sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        error_status: Some(503),
        ..rule("/v1/reports")
    }]);
    let Step::Call { state, request } = adapter.reconcile(state, &cx) else {
        panic!("a search")
    };
    assert_eq!(request.purpose, "bambora.search");
    assert!(request.retry_safe, "a search moves no money");
    let Step::Unknown { state } = adapter.on_response(state, flow::send(&request).await, &cx)
    else {
        panic!("still in doubt")
    };
    sandbox.sandbox.faults.set(Vec::new());
    let mut step = adapter.reconcile(state, &cx);
    let mut purposes = Vec::new();
    let result = loop {
        step = match step {
            Step::Call { state, request } => {
                purposes.push(request.purpose);
                adapter.on_response(state, flow::send(&request).await, &cx)
            }
            Step::Done(result) => break result,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(purposes, ["bambora.search", "bambora.read"]);
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    let entries = ledger(&sandbox);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        result.provider_payment_id.as_deref(),
        Some(entries[0].provider_payment_id.as_str())
    );
}
