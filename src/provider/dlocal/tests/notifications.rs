//! dLocal's notifications: verified (login, date window, signature) before anything in them is
//! read, and a final one answered by a read of the payment.

use super::*;

fn notification(body: &str, login: &str, secret_ok: bool) -> Notification {
    let date = "2024-05-01T10:00:00.000Z";
    let mut signature = independent_hmac(&format!("{login}{date}{body}"));
    if !secret_ok {
        signature = signature.replace('a', "b");
    }
    Notification {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-date".into(), date.into()),
            ("x-login".into(), login.into()),
            (
                "authorization".into(),
                format!("V2-HMAC-SHA256, Signature: {signature}"),
            ),
        ],
        body: body.into(),
    }
}

#[test]
fn x_date_reads_back_what_it_writes() {
    for ms in [
        0,
        NOW_MS,
        951_782_400_000,
        1_735_689_599_999,
        4_102_444_800_123,
    ] {
        assert_eq!(parse_x_date(&x_date(ms)), Some(ms), "{ms}");
    }
    assert_eq!(parse_x_date("2018-07-12T13:46:28Z"), Some(NOW_MS - 629));
    for bad in [
        "",
        "2018-07-12 13:46:28.629Z",
        "2018-13-12T13:46:28.629Z",
        "2018-07-12T13:46:28.6Z",
        "x018-07-12T13:46:28.629Z",
        "2018-07-12T13:46:28.629",
    ] {
        assert_eq!(parse_x_date(bad), None, "{bad}");
    }
}

#[test]
fn notifications_outside_the_window_are_stale() {
    let body = payment("PAID", "200", "");
    let sent = parse_x_date("2024-05-01T10:00:00.000Z").unwrap();
    let n = notification(&body, LOGIN, true);
    assert!(notification_is_fresh(&n, sent));
    assert!(notification_is_fresh(&n, sent + NOTIFICATION_WINDOW_MS));
    assert!(!notification_is_fresh(
        &n,
        sent + NOTIFICATION_WINDOW_MS + 1
    ));
    assert!(!notification_is_fresh(
        &n,
        sent - NOTIFICATION_WINDOW_MS - 1
    ));
    let mut undated = n.clone();
    undated.headers.retain(|(name, _)| name != "x-date");
    assert!(!notification_is_fresh(&undated, sent));
}

#[test]
fn notifications_are_verified_before_anything_is_read() {
    let config = Config::sandbox("http://127.0.0.1:8081");
    let body = payment("PAID", "200", "");
    assert_eq!(
        verify_notification(&config, &notification(&body, LOGIN, true)),
        Ok(NotificationHint {
            payment_id: "D-4-abc".into(),
            order_id: Some("order-1".into()),
            status: "PAID".into(),
        })
    );
    assert_eq!(
        verify_notification(&config, &notification(&body, LOGIN, false)),
        Err(DlocalError::BadSignature)
    );
    assert_eq!(
        verify_notification(&config, &notification(&body, "someone-else", true)),
        Err(DlocalError::WrongLogin)
    );
    let mut tampered = notification(&body, LOGIN, true);
    tampered.body = tampered.body.replace("PAID", "REJECTED");
    assert_eq!(
        verify_notification(&config, &tampered),
        Err(DlocalError::BadSignature)
    );
    // dLocal's guide names X-Date and Authorization; a notification without X-Login is
    // signed over the merchant's own login, and checked so.
    let mut without_login = notification(&body, LOGIN, true);
    without_login.headers.retain(|(n, _)| n != "x-login");
    assert!(verify_notification(&config, &without_login).is_ok());
    let mut signed_for_another = notification(&body, "someone-else", true);
    signed_for_another.headers.retain(|(n, _)| n != "x-login");
    assert_eq!(
        verify_notification(&config, &signed_for_another),
        Err(DlocalError::BadSignature)
    );
    let mut unsigned = notification(&body, LOGIN, true);
    unsigned.headers.retain(|(n, _)| n != "authorization");
    assert_eq!(
        verify_notification(&config, &unsigned),
        Err(DlocalError::MissingHeader("Authorization"))
    );
    assert_eq!(
        verify_notification(&config, &notification("[1]", LOGIN, true)),
        Err(DlocalError::MalformedBody)
    );
}

#[test]
fn a_final_notification_for_this_session_rereads_the_payment() {
    let adapter = adapter();
    let paid = notification(&payment("PAID", "200", ""), LOGIN, true);
    // Awaiting the browser, and even before the create answered (found by order id).
    for state in [authenticating(), creating()] {
        let Some(Step::Call { request, state }) = adapter.on_notification(state, &paid, &cx())
        else {
            panic!("expected a re-read");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert!(matches!(state, State::Confirming { .. }));
    }
    // In doubt (the create's answer lost, found by order id; or a read's answer lost
    // after the payer was sent to dLocal's page): looked up by the payment id the
    // notification names.
    for state in [
        State::InDoubt(doubt_by_order()),
        in_doubt_state(Some("D-4-abc"), Some(PAGE)),
    ] {
        let Some(Step::Call { request, state }) =
            adapter.on_notification(state.clone(), &paid, &cx())
        else {
            panic!("expected a lookup");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert!(
            matches!(&state, State::InDoubt(Doubt { payment_id: Some(id), .. }) if id == "D-4-abc"),
            "{state:?}"
        );
    }
    // Abandoned on dLocal's page (being cancelled): read as after a refused cancel.
    for state in [
        State::Cancelling(abandoned()),
        State::ReadingAfterCancel(abandoned()),
    ] {
        let Some(Step::Call { request, state }) = adapter.on_notification(state, &paid, &cx())
        else {
            panic!("expected a read");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert_eq!(state, State::ReadingAfterCancel(abandoned()));
    }
    // Pending is no news; forged, foreign or unsigned changes nothing.
    let pending = notification(&payment("PENDING", "101", ""), LOGIN, true);
    let forged = notification(&payment("PAID", "200", ""), LOGIN, false);
    let foreign = notification(
        &payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        LOGIN,
        true,
    );
    for n in [pending, forged, foreign] {
        assert_eq!(adapter.on_notification(authenticating(), &n, &cx()), None);
    }
}

/// A pending refund's outcome comes to the same webhook as payments: it is accepted (so
/// dLocal stops retrying) and changes no payment, since it names the refund's id.
#[test]
fn a_refund_notification_is_acknowledged_and_moves_no_payment() {
    let refund = r#"{"id":"REF-1","payment_id":"D-4-abc","amount":25,"currency":"BRL",
        "status":"SUCCESS","status_code":200,"status_detail":"The refund was paid.",
        "order_id":"order-1"}"#;
    let n = notification(refund, LOGIN, true);
    let sent = parse_x_date("2024-05-01T10:00:00.000Z").unwrap();
    assert_eq!(
        adapter().order_of_notification(&n, sent),
        Ok(Some("order-1".into()))
    );
    assert_eq!(adapter().on_notification(authenticating(), &n, &cx()), None);
}
