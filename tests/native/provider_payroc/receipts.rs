//! Receipts that are not Payroc's answer: one upgraded from N to Y, a made-up MPI reference,
//! another order's receipt. Each is refused at the sale or changes nothing, and the real
//! receipt still pays once.

use super::*;

fn with(ret: &BrowserReturn, name: &str, value: &str) -> BrowserReturn {
    BrowserReturn {
        fields: ret
            .fields
            .iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    if n == name {
                        value.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect(),
    }
}

/// Sends the adapter's calls until it asks for the browser or ends.
async fn to_rest(adapter: &PayrocAdapter, mut step: Step<State>, cx: &Context) -> Step<State> {
    loop {
        step = match step {
            Step::Call { state, request } => {
                adapter.on_response(state, flow::send(&request).await, cx)
            }
            rest => return rest,
        };
    }
}

/// A receipt Payroc refuses at the sale leaves the payment waiting with the same MPI
/// step; the same receipt again is refused before any call.
async fn refused_at_the_sale(
    adapter: &PayrocAdapter,
    state: State,
    action: &BrowserAction,
    forged: &BrowserReturn,
    cx: &Context,
) -> State {
    let step = adapter
        .on_browser_return(state, forged, cx)
        .expect("only the sale can judge this receipt");
    let (waiting, again) = match to_rest(adapter, step, cx).await {
        Step::Refused {
            state,
            action,
            refused,
        } => {
            assert_eq!(refused.code, "receipt_refused");
            (state, action)
        }
        other => panic!("the payment must wait for the real receipt: {other:?}"),
    };
    assert_eq!(&again, action, "the same MPI step");
    let refused = adapter.verify_browser_return(&waiting, forged, cx);
    assert_eq!(refused.map_err(|r| r.code), Err("receipt_refused"));
    waiting
}

#[tokio::test]
async fn a_receipt_upgraded_from_n_to_y_is_refused_and_its_reference_stays_refused() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let payment = start("4000000000001208");
    let cx = flow::context(&session_id());
    let (state, action) = to_mpi(&adapter, &payment, &cx).await;
    let real = receipt_of(&action).await;
    assert_eq!(real.single("status"), Some("N"));
    let forged = with(
        &with(&with(&real, "result", "A"), "status", "Y"),
        "eci",
        "05",
    );
    // Payroc refuses the sale: the check behind this reference was declined.
    let state = refused_at_the_sale(&adapter, state, &action, &forged, &cx).await;
    assert!(charged(&running, &payment.order_id).is_empty());
    // The reference is spent: whatever a receipt naming it claims, nothing moves (the
    // payment ends when its session expires), and nothing is charged.
    let refused = adapter.verify_browser_return(&state, &real, &cx);
    assert_eq!(refused.map_err(|r| r.code), Err("receipt_refused"));
    let acted = adapter.on_browser_return(state.clone(), &real, &cx);
    assert_eq!(acted.map(drop).map_err(|r| r.code), Err("receipt_refused"));
    let _ = action;
    assert!(charged(&running, &payment.order_id).is_empty());
}

#[tokio::test]
async fn a_made_up_mpi_reference_is_refused_and_the_real_receipt_still_pays() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let payment = start("4000000000001000");
    let session = session_id();
    let cx = flow::context(&session);
    let (state, action) = to_mpi(&adapter, &payment, &cx).await;
    let real = receipt_of(&action).await;
    let forged = with(&real, "mpiReference", "0123456789abcdef0123");
    let state = refused_at_the_sale(&adapter, state, &action, &forged, &cx).await;
    assert!(charged(&running, &payment.order_id).is_empty());
    let result = to_end(
        &adapter,
        accepted(adapter.on_browser_return(state, &real, &cx)),
        &cx,
    )
    .await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    let entries = charged(&running, &payment.order_id);
    assert_eq!(entries.len(), 1, "one charge");
    assert_eq!(
        entries[0].idempotency_key.as_deref(),
        Some(cx.idempotency_key("sale-2").as_str()),
        "the second sale attempt's key"
    );
}

#[tokio::test]
async fn another_orders_receipt_changes_nothing_and_the_real_one_still_pays() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let payment = start("4000000000001000");
    let cx = flow::context(&session_id());
    let (state, action) = to_mpi(&adapter, &payment, &cx).await;
    let real = receipt_of(&action).await;
    let foreign = with(&real, "orderId", "order-someone-else");
    let refused = adapter.verify_browser_return(&state, &foreign, &cx);
    assert_eq!(refused.map_err(|r| r.code), Err("receipt_other_order"));
    assert_eq!(adapter.verify_browser_return(&state, &real, &cx), Ok(()));
    let acted = adapter.on_browser_return(state.clone(), &foreign, &cx);
    assert_eq!(
        acted.map(drop).map_err(|r| r.code),
        Err("receipt_other_order"),
        "a foreign receipt moves nothing"
    );
    let _ = action;
    let result = to_end(
        &adapter,
        accepted(adapter.on_browser_return(state, &real, &cx)),
        &cx,
    )
    .await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_eq!(charged(&running, &payment.order_id).len(), 1);
}
