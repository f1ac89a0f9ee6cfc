//! The sandbox issuer: one ACS and directory server shared by the four providers.
//!
//! This file owns the ACS's transactions and the 3DS1 PaReq/PaRes encoding. A provider
//! emulator that needs a challenge registers it with [`AcsDirectory::start_challenge`],
//! sends the browser to [`CHALLENGE_PATH`] (2.x, form field `creq`) or [`PAREQ_PATH`]
//! (1.0.2, `PaReq`/`MD`/`TermUrl`), and later reads the truth with
//! [`AcsDirectory::outcome`]: never from what the browser brought back.
//! The pages themselves (method, challenge, 3DS1) are served by `acs_pages`.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;

use base64::Engine;

use super::cards::{AuthenticationValues, MethodBehaviour};
use crate::emv::{CardBrand, Generation, TransStatus};

/// The 3DS Method page (POST `threeDSMethodData`).
pub const METHOD_PATH: &str = "/acs/method";
/// The 2.x challenge page (POST `creq`, optional `threeDSSessionData`).
pub const CHALLENGE_PATH: &str = "/acs/challenge";
/// The 3DS 1.0.2 page (POST `PaReq`, `MD`, `TermUrl`).
pub const PAREQ_PATH: &str = "/acs/pareq";

/// What a provider emulator tells the ACS about a challenge it starts.
#[derive(Debug, Clone)]
pub struct ChallengeStart {
    pub brand: CardBrand,
    pub generation: Generation,
    /// `2.2.0` etc., or `1.0.2`.
    pub message_version: String,
    /// The 3DS Server's transaction id (2.x); for 1.0.2 any id of the provider's.
    pub three_ds_server_trans_id: String,
    /// Where the final CRes (2.x) or PaRes (1.0.2) is posted by the cardholder's browser.
    pub notification_url: String,
    pub merchant_name: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    /// `400000******1000`, shown on the challenge page.
    pub masked_card: String,
}

/// The ACS's record of one challenge.
#[derive(Debug, Clone)]
pub struct AcsTransaction {
    /// A UUID for 2.x; for 1.0.2 the 28-character XID.
    pub acs_trans_id: String,
    pub ds_trans_id: String,
    pub start: ChallengeStart,
    pub state: ChallengeState,
}

/// Where a challenge is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeState {
    /// Waiting for the cardholder.
    Pending,
    /// Ended: the values the issuer stands behind. `cancelled` is challengeCancel 01.
    Done {
        values: AuthenticationValues,
        cancelled: bool,
    },
}

/// What a finished challenge produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeResult {
    pub values: AuthenticationValues,
    pub cancelled: bool,
}

/// The ACS's memory: challenges by acsTransID, completed Methods by threeDSServerTransID.
#[derive(Debug, Default)]
pub struct AcsDirectory {
    challenges: Mutex<HashMap<String, AcsTransaction>>,
    methods_expected: Mutex<HashMap<String, MethodBehaviour>>,
    methods_completed: Mutex<HashMap<String, ()>>,
}

impl AcsDirectory {
    /// Registers a challenge; `acs_trans_id` and `ds_trans_id` are fresh.
    pub fn start_challenge(&self, start: ChallengeStart) -> AcsTransaction {
        let acs_trans_id = match start.generation {
            Generation::Emv => uuid::Uuid::new_v4().to_string(),
            Generation::Legacy => new_xid(),
        };
        let transaction = AcsTransaction {
            acs_trans_id: acs_trans_id.clone(),
            ds_trans_id: uuid::Uuid::new_v4().to_string(),
            start,
            state: ChallengeState::Pending,
        };
        lock(&self.challenges).insert(acs_trans_id, transaction.clone());
        transaction
    }

    pub fn transaction(&self, acs_trans_id: &str) -> Option<AcsTransaction> {
        lock(&self.challenges).get(acs_trans_id).cloned()
    }

    /// Ends a pending challenge: the code decides (1234 → Y, else N); `None` cancels.
    /// A challenge ends once: a second answer returns the first result unchanged.
    pub fn answer(&self, acs_trans_id: &str, otp: Option<&str>) -> Option<ChallengeResult> {
        let mut challenges = lock(&self.challenges);
        let transaction = challenges.get_mut(acs_trans_id)?;
        if transaction.state == ChallengeState::Pending {
            let status = match otp {
                Some(code) if code == super::cards::GOOD_OTP => TransStatus::Y,
                _ => TransStatus::N,
            };
            let values =
                AuthenticationValues::for_status(transaction.start.brand, status, acs_trans_id);
            transaction.state = ChallengeState::Done {
                values,
                cancelled: otp.is_none(),
            };
        }
        match &transaction.state {
            ChallengeState::Done { values, cancelled } => Some(ChallengeResult {
                values: values.clone(),
                cancelled: *cancelled,
            }),
            ChallengeState::Pending => None,
        }
    }

    /// The issuer's result for a challenge, once the cardholder has finished it.
    pub fn outcome(&self, acs_trans_id: &str) -> Option<ChallengeResult> {
        match lock(&self.challenges).get(acs_trans_id)?.state.clone() {
            ChallengeState::Done { values, cancelled } => {
                Some(ChallengeResult { values, cancelled })
            }
            ChallengeState::Pending => None,
        }
    }

    /// Tells the Method page how the card behind `three_ds_server_trans_id` behaves; a
    /// provider calls this when it hands out the Method URL.
    pub fn expect_method(&self, three_ds_server_trans_id: &str, behaviour: MethodBehaviour) {
        lock(&self.methods_expected).insert(three_ds_server_trans_id.to_owned(), behaviour);
    }

    /// How the Method page should behave for this transaction; `None` if none is expected.
    pub fn expected_method(&self, three_ds_server_trans_id: &str) -> Option<MethodBehaviour> {
        lock(&self.methods_expected)
            .get(three_ds_server_trans_id)
            .copied()
    }

    /// Records that the Method page posted back for this 3DS Server transaction.
    pub fn record_method(&self, three_ds_server_trans_id: &str) {
        lock(&self.methods_completed).insert(three_ds_server_trans_id.to_owned(), ());
    }

    pub fn method_completed(&self, three_ds_server_trans_id: &str) -> bool {
        lock(&self.methods_completed).contains_key(three_ds_server_trans_id)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A 3DS1 XID: 20 random bytes, standard base64 (28 characters).
fn new_xid() -> String {
    let mut bytes = [0u8; 20];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..4]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The PaReq for a 1.0.2 challenge: minimal PAReq XML, zlib-deflated, base64.
pub fn encode_pareq(transaction: &AcsTransaction) -> String {
    let start = &transaction.start;
    let xml = format!(
        "<ThreeDSecure><Message id=\"{xid}\"><PAReq><version>1.0.2</version>\
         <Merchant><name>{name}</name></Merchant>\
         <Purchase><xid>{xid}</xid><purchAmount>{amount}</purchAmount><currency>{currency}</currency><exponent>2</exponent></Purchase>\
         <CH><acctID>{card}</acctID></CH></PAReq></Message></ThreeDSecure>",
        xid = transaction.acs_trans_id,
        name = xml_escape(&start.merchant_name),
        amount = start.amount,
        currency = xml_escape(&start.currency),
        card = xml_escape(&start.masked_card),
    );
    deflate_base64(&xml)
}

/// The PaRes the ACS posts back for a finished 1.0.2 challenge.
pub fn encode_pares(transaction: &AcsTransaction, result: &ChallengeResult) -> String {
    let values = &result.values;
    let status = match values.trans_status {
        TransStatus::Y => "Y",
        TransStatus::A => "A",
        TransStatus::U => "U",
        _ => "N",
    };
    let xml = format!(
        "<ThreeDSecure><Message id=\"{xid}\"><PARes><version>1.0.2</version>\
         <Purchase><xid>{xid}</xid></Purchase>\
         <TX><status>{status}</status><cavv>{cavv}</cavv><eci>{eci}</eci><cavvAlgorithm>2</cavvAlgorithm></TX>\
         </PARes></Message></ThreeDSecure>",
        xid = transaction.acs_trans_id,
        cavv = values.cavv.as_deref().unwrap_or_default(),
        eci = values.eci.map(|e| e.as_two_digits()).unwrap_or_default(),
    );
    deflate_base64(&xml)
}

/// The XID and status a PaRes claims. Callers must still look the XID up in the
/// directory and compare: a browser can alter what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaResClaim {
    pub xid: String,
    pub status: String,
}

/// Reads a PaRes (base64 of zlib-deflated XML); `None` for anything malformed.
pub fn decode_pares(pa_res: &str) -> Option<PaResClaim> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(pa_res.trim())
        .ok()?;
    let xml = inflate(&compressed)?;
    Some(PaResClaim {
        xid: element(&xml, "xid")?.to_owned(),
        status: element(&xml, "status")?.to_owned(),
    })
}

/// Reads the XID out of a PaReq.
pub fn decode_pareq_xid(pa_req: &str) -> Option<String> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(pa_req.trim())
        .ok()?;
    let xml = inflate(&compressed)?;
    element(&xml, "xid").map(str::to_owned)
}

fn deflate_base64(xml: &str) -> String {
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(xml.as_bytes(), 6);
    base64::engine::general_purpose::STANDARD.encode(compressed)
}

fn inflate(compressed: &[u8]) -> Option<String> {
    // Bounded: a PaRes is a few hundred bytes; refuse anything that inflates past 64 KiB.
    let bytes =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, 64 * 1024).ok()?;
    let mut text = String::new();
    bytes.as_slice().read_to_string(&mut text).ok()?;
    Some(text)
}

fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(generation: Generation) -> ChallengeStart {
        ChallengeStart {
            brand: CardBrand::Visa,
            generation,
            message_version: "1.0.2".into(),
            three_ds_server_trans_id: "t".into(),
            notification_url: "http://127.0.0.1/term".into(),
            merchant_name: "A & B <shop>".into(),
            amount: 1000,
            currency: "USD".into(),
            masked_card: "400000******3006".into(),
        }
    }

    #[test]
    fn challenge_answers_once() {
        let acs = AcsDirectory::default();
        let tx = acs.start_challenge(start(Generation::Emv));
        assert_eq!(acs.outcome(&tx.acs_trans_id), None);
        let first = acs.answer(&tx.acs_trans_id, Some("1234")).unwrap();
        assert_eq!(first.values.trans_status, TransStatus::Y);
        let second = acs.answer(&tx.acs_trans_id, None).unwrap();
        assert_eq!(second, first, "a second answer must not change the result");
        assert_eq!(acs.answer("unknown", Some("1234")), None);
    }

    #[test]
    fn pares_round_trip_and_garbage() {
        let acs = AcsDirectory::default();
        let tx = acs.start_challenge(start(Generation::Legacy));
        assert_eq!(tx.acs_trans_id.len(), 28);
        assert_eq!(
            decode_pareq_xid(&encode_pareq(&tx)).as_deref(),
            Some(tx.acs_trans_id.as_str())
        );
        let result = acs.answer(&tx.acs_trans_id, Some("0000")).unwrap();
        let claim = decode_pares(&encode_pares(&tx, &result)).unwrap();
        assert_eq!(
            (claim.xid.as_str(), claim.status.as_str()),
            (tx.acs_trans_id.as_str(), "N")
        );
        assert_eq!(decode_pares("not base64 !"), None);
        assert_eq!(decode_pares("AAAA"), None);
    }
}
