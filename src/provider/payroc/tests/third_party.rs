//! A cardholder authenticated by another 3DS server: straight to the sale with its values,
//! statuses Payroc cannot express refused, and the ECI's names read back.

use super::*;

#[test]
fn third_party_authentication_goes_straight_to_the_sale() {
    let adapter = adapter();
    let mut start = payment();
    start.payer.email = None; // not needed without the MPI
    start.external_authentication = Some(external(TransStatus::A, 6));
    let (state, _) = call(begin(&adapter, &start, T0));
    let (state, sale) = call(adapter.on_response(state, single_use_token_answer(), &cx(T0)));
    assert_eq!(sale.purpose, "payroc.sale");
    assert_eq!(
        body(&sale)["threeDSecure"],
        json!({"serviceProvider": "thirdParty", "eci": "attemptedAuthentication",
               "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=",
               "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"})
    );
    let result =
        done(adapter.on_response(state, payment_answer("ready", "A", "APPROVAL"), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert_eq!(result.trans_status, Some(TransStatus::A));
    assert_eq!(result.eci, Eci::new(6));
    assert!(result.liability_shift);

    // With a token and Y: one call, the sale.
    start.method = PaymentMethod::Token {
        token: TOKEN.into(),
        bin: None,
    };
    start.external_authentication = Some(external(TransStatus::Y, 5));
    let (_, sale) = call(adapter.start(&start, &cx(T0)));
    assert_eq!(body(&sale)["threeDSecure"]["eci"], "fullyAuthenticated");
    assert_eq!(body(&sale)["paymentMethod"]["token"], TOKEN);
}

#[test]
fn third_party_statuses_payroc_cannot_express_are_refused() {
    let adapter = adapter();
    let mut start = payment();
    start.external_authentication = Some(external(TransStatus::N, 7));
    let result = done(adapter.start(&start, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);

    start.external_authentication = Some(external(TransStatus::U, 7));
    let result = done(adapter.start(&start, &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.trans_status, Some(TransStatus::U));
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert!(error.provider_message.unwrap().contains("transStatus U"));
}

#[test]
fn a_third_party_eci_reads_back_by_its_name() {
    use state::ThirdPartyEci;
    crate::unit_variant::tests::reads_back::<ThirdPartyEci>();
}
