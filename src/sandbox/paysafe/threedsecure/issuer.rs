//! What the directory and the issuer's ACS decide about one authentication: frictionless,
//! a challenge (2.x CReq or 3DS1 PaReq), or a refusal, and the outcome of a finished
//! challenge.

use super::*;

/// What the directory and the issuer's ACS are asked about one authentication.
pub(super) struct IssuerRequest {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) trans_id: String,
    pub(super) merchant_name: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) card: CardSummary,
}

impl IssuerRequest {
    /// The protocol version, the challenge started at the ACS (if any), and where the
    /// authentication stands, as the card's profile decides.
    pub(super) fn decide(
        &self,
        sandbox: &Sandbox,
        profile: &CardProfile,
    ) -> (&'static str, Option<ChallengeRef>, AuthenticationState) {
        match (profile.protocol, profile.authentication) {
            (Protocol::Legacy { enrolled: false }, _) => (
                LEGACY_VERSION,
                None,
                AuthenticationState::Completed(Outcome {
                    enrolled: false,
                    result: None,
                    eci: Eci::for_outcome(self.card.brand, TransStatus::N),
                    cavv: None,
                    ds_trans_id: None,
                    xid: None,
                    signature_status: None,
                    challenge_cancelled: false,
                }),
            ),
            (Protocol::Legacy { enrolled: true }, _) => {
                let transaction = sandbox.acs.start_challenge(self.challenge_start(
                    sandbox,
                    Generation::Legacy,
                    LEGACY_VERSION,
                ));
                let pa_req = acs::encode_pareq(&transaction);
                let challenge = ChallengeRef {
                    kind: ChallengeKind::PaReq,
                    sdk_challenge_payload: self.sdk_payload(&transaction.acs_trans_id, pa_req),
                    acs_trans_id: transaction.acs_trans_id,
                    ds_trans_id: transaction.ds_trans_id,
                };
                (
                    LEGACY_VERSION,
                    Some(challenge),
                    AuthenticationState::Pending,
                )
            }
            (Protocol::Emv, Authentication::Challenge) => {
                let transaction = sandbox.acs.start_challenge(self.challenge_start(
                    sandbox,
                    Generation::Emv,
                    EMV_VERSION,
                ));
                let creq = CReq::new(
                    self.trans_id.clone(),
                    transaction.acs_trans_id.clone(),
                    EMV_VERSION.to_owned(),
                    ChallengeWindowSize::W390xH400,
                );
                let challenge = ChallengeRef {
                    kind: ChallengeKind::Emv,
                    sdk_challenge_payload: self
                        .sdk_payload(&transaction.acs_trans_id, creq.to_base64url()),
                    acs_trans_id: transaction.acs_trans_id,
                    ds_trans_id: transaction.ds_trans_id,
                };
                (EMV_VERSION, Some(challenge), AuthenticationState::Pending)
            }
            (Protocol::Emv, Authentication::Frictionless(status)) => {
                let values =
                    AuthenticationValues::for_status(self.card.brand, status, &self.trans_id);
                (
                    EMV_VERSION,
                    None,
                    AuthenticationState::Completed(emv_outcome(self.card.brand, &values, new_id())),
                )
            }
        }
    }

    fn challenge_start(
        &self,
        sandbox: &Sandbox,
        generation: Generation,
        version: &str,
    ) -> ChallengeStart {
        ChallengeStart {
            brand: self.card.brand,
            generation,
            message_version: version.to_owned(),
            three_ds_server_trans_id: self.trans_id.clone(),
            notification_url: sandbox.public_url(&format!(
                "{}{CHALLENGE_COMPLETE_PATH}",
                super::super::PREFIX
            )),
            merchant_name: self.merchant_name.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            masked_card: self.card.masked.clone(),
        }
    }

    /// Paysafe's `sdkChallengePayload`: base64 of the ids and the CReq or PaReq.
    fn sdk_payload(&self, transaction_id: &str, payload: String) -> String {
        let inner = json!({
            "id": self.id,
            "transactionId": transaction_id,
            "payload": payload,
            "accountId": self.account,
        });
        base64::engine::general_purpose::STANDARD.encode(inner.to_string())
    }
}

/// The outcome of a final 2.x status: ECI also for N/U/R (what the scheme assigns).
fn emv_outcome(
    brand: crate::emv::CardBrand,
    values: &AuthenticationValues,
    ds_trans_id: String,
) -> Outcome {
    Outcome {
        enrolled: true,
        result: Some(values.trans_status),
        eci: values
            .eci
            .or_else(|| Eci::for_outcome(brand, values.trans_status)),
        cavv: values.cavv.clone(),
        ds_trans_id: Some(ds_trans_id),
        xid: None,
        signature_status: None,
        challenge_cancelled: false,
    }
}

pub(super) fn challenge_outcome(
    brand: crate::emv::CardBrand,
    challenge: &ChallengeRef,
    result: &ChallengeResult,
) -> Outcome {
    match challenge.kind {
        ChallengeKind::Emv => Outcome {
            challenge_cancelled: result.cancelled,
            ..emv_outcome(brand, &result.values, challenge.ds_trans_id.clone())
        },
        ChallengeKind::PaReq => {
            let status = result.values.trans_status;
            Outcome {
                enrolled: true,
                result: Some(status),
                eci: result
                    .values
                    .eci
                    .or_else(|| Eci::for_outcome(brand, status)),
                cavv: result.values.cavv.clone(),
                ds_trans_id: None,
                xid: Some(challenge.acs_trans_id.clone()),
                signature_status: Some("Y"),
                challenge_cancelled: result.cancelled,
            }
        }
    }
}
