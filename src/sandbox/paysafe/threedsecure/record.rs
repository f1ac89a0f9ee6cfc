//! What the sandbox keeps of Paysafe 3-D Secure: a device-fingerprinting session, an
//! authentication with its challenge and outcome, and the authentication's JSON as
//! Paysafe answers it.

use serde_json::{json, Value};

use super::super::CardSummary;
use super::EMV_VERSION;
use crate::emv::{Eci, ThreeDsCompInd, TransStatus};
use crate::sandbox::acs;
use crate::sandbox::cards::MethodBehaviour;
use crate::sandbox::Sandbox;

/// One device-fingerprinting session, created by `/jwt`.
#[derive(Debug, Clone)]
pub struct FingerprintSession {
    pub account_id: String,
    pub card_bin: String,
    /// The 3DS Server transaction id the later AReq (and the Method) carries.
    pub three_ds_server_trans_id: String,
    /// The Method behaviour announced to the ACS, when a Method URL was handed out.
    pub method: Option<MethodBehaviour>,
    /// The authentication that consumed the session.
    pub used_by: Option<String>,
}

/// Which protocol carries the challenge of an authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// EMV 2.x: CReq out, CRes back.
    Emv,
    /// 3DS 1.0.2: PaReq out, PaRes back.
    PaReq,
}

/// The challenge an authentication started at the ACS.
#[derive(Debug, Clone)]
pub struct ChallengeRef {
    pub kind: ChallengeKind,
    /// The ACS's id: acsTransID (2.x) or the XID (1.0.2).
    pub acs_trans_id: String,
    pub ds_trans_id: String,
    pub sdk_challenge_payload: String,
}

/// What the directory / issuer finally said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `threeDEnrollment`: Y or N.
    pub enrolled: bool,
    /// `threeDResult`; `None` for a 3DS1 card that is not enrolled.
    pub result: Option<TransStatus>,
    pub eci: Option<Eci>,
    pub cavv: Option<String>,
    pub ds_trans_id: Option<String>,
    pub xid: Option<String>,
    pub signature_status: Option<&'static str>,
    /// The cardholder cancelled the challenge (the RReq's challengeCancel 01), shown as
    /// `challengeCancel` (a sandbox addition, see docs).
    pub challenge_cancelled: bool,
}

/// Where an authentication is.
#[derive(Debug, Clone)]
pub enum AuthenticationState {
    /// Waiting for the cardholder at the ACS (`status: PENDING`).
    Pending,
    /// Final (`status: COMPLETED`).
    Completed(Outcome),
}

/// One authentication as Paysafe keeps it.
#[derive(Debug, Clone)]
pub struct AuthenticationRecord {
    pub id: String,
    pub account_id: String,
    pub merchant_ref_num: String,
    pub txn_time: String,
    pub amount: i64,
    pub currency: String,
    pub card: CardSummary,
    pub merchant_url: String,
    pub device_fingerprinting_id: String,
    pub three_ds_server_trans_id: String,
    pub version: &'static str,
    /// How the 3DS Method went before the AReq (kept for the AReq; not in the response).
    pub comp_ind: ThreeDsCompInd,
    pub challenge: Option<ChallengeRef>,
    pub state: AuthenticationState,
    /// The request's `requestorChallengePreference`, echoed as Paysafe's `threeDS` schema
    /// lists it in the answer too. The issuer's decision stays the card's: EMV lets an ACS
    /// challenge whatever the requestor preferred (`NO_CHALLENGE_REQUESTED` included).
    pub requestor_challenge_preference: Option<String>,
}

impl AuthenticationRecord {
    /// Every transaction id it names: its challenge's and its outcome's.
    pub fn transaction_ids(&self) -> impl Iterator<Item = &str> {
        let challenge = self
            .challenge
            .iter()
            .flat_map(|c| [c.acs_trans_id.as_str(), c.ds_trans_id.as_str()]);
        let outcome = match &self.state {
            AuthenticationState::Completed(outcome) => {
                [outcome.ds_trans_id.as_deref(), outcome.xid.as_deref()]
            }
            AuthenticationState::Pending => [None, None],
        };
        challenge.chain(outcome.into_iter().flatten())
    }

    /// The response body (`GET`, create, finalize).
    pub fn json(&self, sandbox: &Sandbox) -> Value {
        let mut body = json!({
            "id": self.id,
            "merchantRefNum": self.merchant_ref_num,
            "txnTime": self.txn_time,
            "amount": self.amount,
            "currency": self.currency,
            "deviceFingerprintingId": self.device_fingerprinting_id,
            "merchantUrl": self.merchant_url,
            "card": self.card.json(),
            "threeDSecureVersion": self.version,
        });
        if let (Some(preference), Some(object)) =
            (&self.requestor_challenge_preference, body.as_object_mut())
        {
            object.insert("requestorChallengePreference".to_owned(), json!(preference));
        }
        let set = |body: &mut Value, name: &str, value: Value| {
            if let Some(object) = body.as_object_mut() {
                object.insert(name.to_owned(), value);
            }
        };
        if self.version == EMV_VERSION {
            set(
                &mut body,
                "threeDSecureServerTransactionId",
                json!(self.three_ds_server_trans_id),
            );
        }
        match &self.state {
            AuthenticationState::Pending => {
                set(&mut body, "status", json!("PENDING"));
                set(&mut body, "threeDEnrollment", json!("Y"));
                if let Some(challenge) = &self.challenge {
                    let acs_url = match challenge.kind {
                        ChallengeKind::Emv => {
                            set(&mut body, "threeDResult", json!("C"));
                            set(
                                &mut body,
                                "directoryServerTransactionId",
                                json!(challenge.ds_trans_id),
                            );
                            sandbox.public_url(acs::CHALLENGE_PATH)
                        }
                        ChallengeKind::PaReq => {
                            set(&mut body, "xid", json!(challenge.acs_trans_id));
                            sandbox.public_url(acs::PAREQ_PATH)
                        }
                    };
                    set(&mut body, "acsUrl", json!(acs_url));
                    set(
                        &mut body,
                        "sdkChallengePayload",
                        json!(challenge.sdk_challenge_payload),
                    );
                }
            }
            AuthenticationState::Completed(outcome) => {
                set(&mut body, "status", json!("COMPLETED"));
                let enrollment = if outcome.enrolled { "Y" } else { "N" };
                set(&mut body, "threeDEnrollment", json!(enrollment));
                if let Some(result) = outcome.result {
                    set(&mut body, "threeDResult", json!(result.as_str()));
                }
                if let Some(eci) = outcome.eci {
                    set(&mut body, "eci", json!(eci.value()));
                }
                if let Some(cavv) = &outcome.cavv {
                    set(&mut body, "cavv", json!(cavv));
                }
                if let Some(ds) = &outcome.ds_trans_id {
                    set(&mut body, "directoryServerTransactionId", json!(ds));
                }
                if let Some(xid) = &outcome.xid {
                    set(&mut body, "xid", json!(xid));
                }
                if let Some(status) = outcome.signature_status {
                    set(&mut body, "signatureStatus", json!(status));
                }
                if outcome.challenge_cancelled {
                    set(&mut body, "challengeCancel", json!("01"));
                }
            }
        }
        body
    }
}
