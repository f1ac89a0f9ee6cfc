//! Challenges: the 302 that sends the cardholder to the sandbox ACS (3DS 2 `creq`, or the
//! seed's 3DS 1.0.2 PaReq form), and `continue`, which believes only the ACS's own record
//! of the result and finishes each session exactly once.

use base64::Engine;

use super::contents;
use super::request::CardResponse;
use super::wire::{dollars, ApiError, Link, Payment, Redirect, ThreeDsResult, ThreeDsStatus};
use super::{
    Authenticated, Order, Progress, Session, State, CURRENCY, EMV_VERSION, MERCHANT_NAME, WINDOW,
};
use crate::emv::{CReq, ChallengeOutcome, Eci, FormPost, Generation, TransStatus};
use crate::sandbox::acs::{self, AcsTransaction, ChallengeStart};
use crate::sandbox::cards::AuthenticationValues;
use crate::sandbox::Sandbox;

impl State {
    /// Registers the challenge with the ACS and builds the 302 body.
    pub(super) fn start_challenge(
        &self,
        sandbox: &Sandbox,
        order: Order,
        generation: Generation,
        term_url: &str,
        auth_required: bool,
        downgraded: bool,
    ) -> Redirect {
        let (session_id, three_ds_server_trans_id, message_version) = match generation {
            // The seed's merchant_data: a GUID with its last dash missing.
            Generation::Legacy => {
                let mut id = uuid::Uuid::new_v4().to_string();
                id.remove(23);
                (id.clone(), id, "1.0.2")
            }
            Generation::Emv => {
                let server_id = uuid::Uuid::new_v4().to_string();
                let session = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(uuid::Uuid::new_v4().simple().to_string());
                (session, server_id, EMV_VERSION)
            }
        };
        let transaction = sandbox.acs.start_challenge(ChallengeStart {
            brand: order.card.brand,
            generation,
            message_version: message_version.to_owned(),
            three_ds_server_trans_id: three_ds_server_trans_id.clone(),
            notification_url: term_url.to_owned(),
            merchant_name: MERCHANT_NAME.to_owned(),
            amount: order.amount,
            currency: CURRENCY.to_owned(),
            masked_card: order.card.masked.clone(),
        });
        let form = match generation {
            Generation::Legacy => pareq_form(sandbox, &transaction, &order, &session_id, term_url),
            Generation::Emv => {
                let creq = CReq::new(
                    three_ds_server_trans_id.clone(),
                    transaction.acs_trans_id.clone(),
                    EMV_VERSION.to_owned(),
                    WINDOW,
                );
                FormPost::post(
                    sandbox.public_url(acs::CHALLENGE_PATH),
                    [
                        ("creq", creq.to_base64url()),
                        ("threeDSSessionData", session_id.clone()),
                    ],
                )
            }
        };
        let links = vec![Link {
            rel: "continue",
            href: sandbox.public_url(&format!("/bambora/v1/payments/{session_id}/continue")),
            method: "POST",
        }];
        self.lock().sessions.insert(
            session_id.clone(),
            Session {
                generation,
                acs_trans_id: transaction.acs_trans_id,
                three_ds_server_trans_id,
                order,
                auth_required,
                downgraded,
                progress: Progress::Pending,
            },
        );
        let (merchant_data, three_d_session_data) = match generation {
            Generation::Legacy => (Some(session_id), None),
            Generation::Emv => (None, Some(session_id)),
        };
        Redirect {
            merchant_data,
            three_d_session_data,
            contents: contents::url_encode(&contents::form_page(&form)),
            links,
        }
    }

    /// `continue`: checks what the browser brought against the ACS, then finishes the
    /// session once. Later calls get the first result again.
    pub(super) fn resume(
        &self,
        sandbox: &Sandbox,
        id: &str,
        card_response: &CardResponse,
    ) -> Result<Payment, ApiError> {
        let (key, generation, acs_trans_id, server_id) = {
            let memory = self.lock();
            let key = [id.to_owned(), id.to_ascii_lowercase()]
                .into_iter()
                .find(|key| memory.sessions.contains_key(key))
                .ok_or_else(|| ApiError::unknown_id("merchant_data"))?;
            let session = &memory.sessions[&key];
            (
                key.clone(),
                session.generation,
                session.acs_trans_id.clone(),
                session.three_ds_server_trans_id.clone(),
            )
        };
        let values = verify(
            sandbox,
            generation,
            &acs_trans_id,
            &server_id,
            card_response,
        )?;
        let mut memory = self.lock();
        let session = memory
            .sessions
            .get(&key)
            .ok_or_else(|| ApiError::unknown_id("merchant_data"))?;
        if let Progress::Finished(result) = &session.progress {
            return result.as_ref().clone();
        }
        let order = session.order.clone();
        let concluded = conclude(&values, session.auth_required, session.downgraded);
        let result = concluded.and_then(|auth| memory.authorize(sandbox, &order, &auth));
        if let Some(session) = memory.sessions.get_mut(&key) {
            session.progress = Progress::Finished(Box::new(result.clone()));
        }
        result
    }
}

/// The issuer's final status, as Bambora reports it and acts on it: Y and A authorize;
/// U authorizes without liability shift unless `auth_required`; N, R and the rest are
/// declined with 311 before any authorization.
pub(super) fn conclude(
    values: &AuthenticationValues,
    auth_required: bool,
    downgraded: bool,
) -> Result<Authenticated, ApiError> {
    let status = match values.trans_status {
        TransStatus::Y => ThreeDsStatus::Succeeded,
        TransStatus::A => ThreeDsStatus::Attempted,
        TransStatus::U | TransStatus::I => ThreeDsStatus::Unavailable,
        TransStatus::N => ThreeDsStatus::Failed,
        TransStatus::R => ThreeDsStatus::Rejected,
        TransStatus::C | TransStatus::D | TransStatus::S => ThreeDsStatus::Error,
    };
    let mut result = ThreeDsResult {
        status,
        downgraded,
        reason_merchant: None,
        reason_cardholder: None,
    };
    let proceeds = match status {
        ThreeDsStatus::Succeeded | ThreeDsStatus::Attempted => true,
        ThreeDsStatus::Unavailable => !auth_required,
        _ => false,
    };
    if !proceeds {
        result.reason_merchant = Some(rejection_reason(values.trans_status));
        result.reason_cardholder =
            Some("Your card issuer could not confirm this purchase. Try another card or contact your bank.");
        return Err(ApiError::three_d_secure_failed(result));
    }
    Ok(Authenticated {
        three_d_secure: Some(result),
        eci: values.eci.map(Eci::value),
        cavv: values.cavv.is_some(),
    })
}
/// The sandbox's reason for a rejection, a name from Bambora's "3DS Reason List" (each an
/// EMV transStatusReason): N the authentication failed (01), R the issuer refuses the
/// cardholder this transaction (12), anything else a technical issue at the ACS (22).
fn rejection_reason(status: TransStatus) -> &'static str {
    match status {
        TransStatus::N => "CardAuthenticationFailed",
        TransStatus::R => "TransactionNotPermittedToCardholder",
        _ => "ACSTechnicalIssue",
    }
}

/// What the browser brought back, checked against the ACS's own record: the issuer's
/// values, or a 400 when it names another transaction, is still pending or was altered.
fn verify(
    sandbox: &Sandbox,
    generation: Generation,
    acs_trans_id: &str,
    three_ds_server_trans_id: &str,
    card_response: &CardResponse,
) -> Result<AuthenticationValues, ApiError> {
    let tampered = |field: &str| {
        ApiError::invalid_field(
            field,
            "Does not belong to this 3D Secure session or was altered",
        )
    };
    let pending = |field: &str| {
        ApiError::invalid_field(field, "The cardholder has not completed authentication")
    };
    match (generation, card_response) {
        (Generation::Emv, CardResponse::CRes(cres)) => {
            let field = "card_response.cres";
            let claimed = match ChallengeOutcome::from_base64url(cres) {
                Ok(ChallengeOutcome::Completed(cres)) => cres,
                Ok(ChallengeOutcome::Failed(_)) => {
                    return Ok(AuthenticationValues {
                        trans_status: TransStatus::C,
                        eci: None,
                        cavv: None,
                    })
                }
                Err(_) => return Err(ApiError::invalid_field(field, "Not a valid CRes")),
            };
            if claimed.acs_trans_id != acs_trans_id
                || claimed.three_ds_server_trans_id != three_ds_server_trans_id
            {
                return Err(tampered(field));
            }
            let truth = sandbox
                .acs
                .outcome(acs_trans_id)
                .ok_or_else(|| pending(field))?;
            if truth.values.trans_status != claimed.trans_status {
                return Err(tampered(field));
            }
            Ok(truth.values)
        }
        (Generation::Legacy, CardResponse::PaRes(pa_res)) => {
            let field = "card_response.pa_res";
            let claimed = acs::decode_pares(pa_res)
                .ok_or_else(|| ApiError::invalid_field(field, "Not a valid PaRes"))?;
            if claimed.xid != acs_trans_id {
                return Err(tampered(field));
            }
            let truth = sandbox
                .acs
                .outcome(acs_trans_id)
                .ok_or_else(|| pending(field))?;
            let status = match truth.values.trans_status {
                TransStatus::Y => "Y",
                TransStatus::A => "A",
                TransStatus::U => "U",
                _ => "N",
            };
            if claimed.status != status {
                return Err(tampered(field));
            }
            Ok(truth.values)
        }
        (Generation::Emv, CardResponse::PaRes(_)) => Err(ApiError::invalid_field(
            "card_response.pa_res",
            "This is a 3D Secure 2.0 session: send card_response.cres",
        )),
        (Generation::Legacy, CardResponse::CRes(_)) => Err(ApiError::invalid_field(
            "card_response.cres",
            "This is a 3D Secure 1.0 session: send card_response.pa_res",
        )),
    }
}
/// The 3DS 1.0.2 form of the seed: PaReq, the fields the issuer page shows, MD, TermUrl.
fn pareq_form(
    sandbox: &Sandbox,
    transaction: &AcsTransaction,
    order: &Order,
    merchant_data: &str,
    term_url: &str,
) -> FormPost {
    let now = time::OffsetDateTime::now_utc();
    let seed_time = time::macros::format_description!(
        "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    FormPost::post(
        sandbox.public_url(acs::PAREQ_PATH),
        [
            ("PaReq", acs::encode_pareq(transaction)),
            ("merchant_name", MERCHANT_NAME.to_owned()),
            ("trnDatetime", now.format(&seed_time).unwrap_or_default()),
            ("trnAmount", format!("{:.2}", dollars(order.amount))),
            (
                "trnEncCardNumber",
                format!("XXXX XXXX XXXX {}", order.card.last_four),
            ),
            ("MD", merchant_data.to_ascii_uppercase()),
            ("TermUrl", term_url.to_owned()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::CardBrand;

    #[test]
    fn statuses_map_to_bambora_decisions() {
        let values = |status| AuthenticationValues::for_status(CardBrand::Visa, status, "seed");
        let y = conclude(&values(TransStatus::Y), true, false).unwrap();
        assert_eq!((y.eci, y.cavv), (Some(5), true));
        assert_eq!(
            conclude(&values(TransStatus::U), false, false).unwrap().eci,
            Some(7)
        );
        let refused = conclude(&values(TransStatus::U), true, false).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.body.code), (402, 311));
        let rejected = conclude(&values(TransStatus::R), false, false).unwrap_err();
        assert_eq!(
            rejected.body.three_d_secure.map(|r| r.status),
            Some(ThreeDsStatus::Rejected)
        );
    }
}
