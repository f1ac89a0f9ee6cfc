//! Paysafe's wire format: request bodies as serde structs, responses read into typed
//! outcomes, and the error envelope. Pure data; no decisions about the payment flow
//! (those are in `mod.rs`).

use serde::{Deserialize, Serialize};

use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::wire::PaysafeBrowserDetails;
use crate::emv::{CReq, CardBrand, ChallengeWindowSize, Eci, FormPost, PaReqForm, TransStatus};
use crate::payment::{CardDetails, ChallengePreference};

/// `POST /customervault/v1/singleusetokens`.
#[derive(Serialize)]
pub struct TokenRequest<'a> {
    pub card: TokenCard<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCard<'a> {
    pub card_num: &'a str,
    pub card_expiry: CardExpiry,
    pub cvv: &'a str,
    pub holder_name: &'a str,
}

#[derive(Serialize)]
pub struct CardExpiry {
    pub month: u8,
    pub year: u16,
}

impl<'a> TokenRequest<'a> {
    pub fn new(card: &'a CardDetails) -> TokenRequest<'a> {
        TokenRequest {
            card: TokenCard {
                card_num: card.number.expose(),
                card_expiry: CardExpiry {
                    month: card.expiry_month,
                    year: card.expiry_year,
                },
                cvv: card.cvv.expose(),
                holder_name: &card.holder_name,
            },
        }
    }
}

/// The answer: only the token is kept.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub payment_token: String,
}

/// `card: {paymentToken}` in every later request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRef<'a> {
    pub payment_token: &'a str,
}

/// `POST /threedsecure/v2/jwt`: `{card: {cardBin}, accountId}` (providers.md §3.2), with
/// the single-use token beside the BIN (the sandbox picks the card's behaviour by it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtRequest<'a> {
    pub account_id: &'a str,
    pub card: JwtCard<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtCard<'a> {
    pub card_bin: &'a str,
    pub payment_token: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtResponse {
    pub device_fingerprinting_id: String,
    pub method_url: Option<String>,
    #[serde(rename = "threeDSMethodData")]
    pub three_ds_method_data: Option<String>,
}

/// `browserDetails` as stored between steps (the emv core's shape, made storable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserDetails {
    pub accept_header: String,
    pub color_depth_bits: String,
    pub customer_ip: String,
    pub javascript_enabled: bool,
    pub java_enabled: bool,
    pub language: String,
    pub screen_height: u32,
    pub screen_width: u32,
    pub timezone_offset: i16,
    pub user_agent: String,
}

impl From<PaysafeBrowserDetails> for BrowserDetails {
    fn from(d: PaysafeBrowserDetails) -> BrowserDetails {
        BrowserDetails {
            accept_header: d.accept_header,
            color_depth_bits: d.color_depth_bits,
            customer_ip: d.customer_ip,
            javascript_enabled: d.javascript_enabled,
            java_enabled: d.java_enabled,
            language: d.language,
            screen_height: d.screen_height,
            screen_width: d.screen_width,
            timezone_offset: d.timezone_offset,
            user_agent: d.user_agent,
        }
    }
}

/// `POST /threedsecure/v2/accounts/{acct}/authentications` (seed 003's required fields).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationRequest<'a> {
    pub merchant_ref_num: &'a str,
    pub amount: u64,
    pub currency: &'a str,
    pub merchant_url: &'a str,
    pub card: TokenRef<'a>,
    pub device_fingerprinting_id: &'a str,
    pub device_channel: &'static str,
    pub message_category: &'static str,
    pub authentication_purpose: &'static str,
    pub requestor_challenge_preference: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_details: Option<&'a BrowserDetails>,
}

pub fn challenge_preference(preference: ChallengePreference) -> &'static str {
    match preference {
        ChallengePreference::NoPreference => "NO_PREFERENCE",
        ChallengePreference::Requested => "CHALLENGE_REQUESTED",
        ChallengePreference::Mandated => "CHALLENGE_MANDATED",
    }
}

/// An authentication as Paysafe answers it (create, finalize, GET).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponse {
    pub id: String,
    pub merchant_ref_num: Option<String>,
    pub status: String,
    pub three_d_result: Option<String>,
    pub three_d_enrollment: Option<String>,
    pub three_d_secure_version: Option<String>,
    pub eci: Option<Eci>,
    pub cavv: Option<String>,
    pub xid: Option<String>,
    pub directory_server_transaction_id: Option<String>,
    pub signature_status: Option<String>,
    pub acs_url: Option<String>,
    pub sdk_challenge_payload: Option<String>,
    pub challenge_cancel: Option<String>,
    pub card: Option<ResponseCard>,
}

#[derive(Debug, Deserialize)]
pub struct ResponseCard {
    #[serde(rename = "type")]
    pub card_type: Option<String>,
}

/// Paysafe's two-letter card type, as a brand.
pub fn brand_of_type(card_type: &str) -> CardBrand {
    match card_type {
        "VI" => CardBrand::Visa,
        "MC" => CardBrand::Mastercard,
        "AM" => CardBrand::Amex,
        "DI" => CardBrand::Discover,
        "JC" => CardBrand::Jcb,
        "DC" => CardBrand::Diners,
        _ => CardBrand::Unknown,
    }
}

/// The values an authorization carries when authentication is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub version: String,
    /// `threeDResult`; `None` for a 3DS1 card that is not enrolled.
    pub trans_status: Option<TransStatus>,
    pub eci: Option<Eci>,
    pub cavv: Option<String>,
    pub ds_transaction_id: Option<String>,
    pub xid: Option<String>,
    pub enrollment: Option<String>,
    pub signature_status: Option<String>,
    /// The issuer reported that the cardholder cancelled the challenge.
    pub cancelled: bool,
}

impl Authenticated {
    pub fn is_legacy(&self) -> bool {
        self.version.starts_with('1')
    }
}

/// What an authentication answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticationOutcome {
    /// COMPLETED: the values to decide on.
    Completed(Authenticated),
    /// PENDING with a challenge: the browser form.
    Challenge {
        form: FormPost,
        window_size: Option<ChallengeWindowSize>,
    },
    /// PENDING without a challenge (finalize not yet possible).
    Pending,
    /// FAILED, or a status this adapter does not know.
    Failed(String),
}

/// `sdkChallengePayload`: standard base64 of `{id, transactionId, payload, accountId}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SdkChallengePayload {
    pub id: String,
    pub payload: String,
}

impl SdkChallengePayload {
    pub fn decode(encoded: &str) -> Result<SdkChallengePayload, &'static str> {
        let bytes = crate::base64_codec::decode_either(encoded.trim())
            .ok_or("sdkChallengePayload is not base64")?;
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|json| crate::json_path::from_text(json).ok())
            .ok_or("sdkChallengePayload is not the expected JSON")
    }
}

impl AuthenticationResponse {
    /// Reads the answer into an outcome. `term_url` is where a 3DS1 ACS must post the
    /// PaRes (Paysafe's challenge-complete page).
    pub fn outcome(&self, term_url: &str) -> Result<AuthenticationOutcome, &'static str> {
        let trans_status = match self.three_d_result.as_deref() {
            Some(text) => Some(TransStatus::parse(text).map_err(|_| "unknown threeDResult")?),
            None => None,
        };
        match self.status.as_str() {
            "COMPLETED" => {
                let version = self
                    .three_d_secure_version
                    .clone()
                    .ok_or("a COMPLETED authentication without threeDSecureVersion")?;
                if trans_status.is_none() && self.three_d_enrollment.is_none() {
                    return Err(
                        "a COMPLETED authentication without threeDResult or threeDEnrollment",
                    );
                }
                Ok(AuthenticationOutcome::Completed(Authenticated {
                    version,
                    trans_status,
                    eci: self.eci,
                    cavv: self.cavv.clone(),
                    ds_transaction_id: self.directory_server_transaction_id.clone(),
                    xid: self.xid.clone(),
                    enrollment: self.three_d_enrollment.clone(),
                    signature_status: self.signature_status.clone(),
                    cancelled: self.challenge_cancel.as_deref() == Some("01"),
                }))
            }
            "PENDING" => {
                let (Some(acs_url), Some(encoded)) = (&self.acs_url, &self.sdk_challenge_payload)
                else {
                    return Ok(AuthenticationOutcome::Pending);
                };
                if !(acs_url.starts_with("https://") || acs_url.starts_with("http://")) {
                    return Err("acsUrl is not an http(s) URL");
                }
                let inner = SdkChallengePayload::decode(encoded)?;
                if inner.id != self.id {
                    return Err("sdkChallengePayload names another authentication");
                }
                let legacy = self
                    .three_d_secure_version
                    .as_deref()
                    .is_some_and(|v| v.starts_with('1'));
                if legacy {
                    let form = PaReqForm {
                        acs_url: acs_url.clone(),
                        pa_req: inner.payload,
                        md: self.id.clone(),
                        term_url: term_url.to_owned(),
                    }
                    .form();
                    return Ok(AuthenticationOutcome::Challenge {
                        form,
                        window_size: None,
                    });
                }
                if trans_status != Some(TransStatus::C) {
                    return Err("a PENDING 2.x authentication whose threeDResult is not C");
                }
                let window_size = CReq::from_base64url(&inner.payload)
                    .ok()
                    .map(|creq| creq.challenge_window_size);
                let mut form = FormPost::post(acs_url.clone(), [("creq", inner.payload)]);
                let session_data =
                    ThreeDsSessionData::new(&self.id).map_err(|_| "authentication id too long")?;
                form.fields.push(crate::emv::FormField {
                    name: "threeDSSessionData".to_owned(),
                    value: session_data.into_inner(),
                });
                Ok(AuthenticationOutcome::Challenge { form, window_size })
            }
            other => Ok(AuthenticationOutcome::Failed(other.to_owned())),
        }
    }

    pub fn brand(&self) -> Option<CardBrand> {
        self.card
            .as_ref()
            .and_then(|c| c.card_type.as_deref())
            .map(brand_of_type)
    }
}

/// `POST /threedsecure/v2/accounts/{acct}/authentications/{id}/finalize`.
#[derive(Serialize)]
pub struct FinalizeRequest<'a> {
    pub payload: &'a str,
}

/// `POST /cardpayments/v1/accounts/{acct}/auths`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest<'a> {
    pub merchant_ref_num: &'a str,
    pub amount: u64,
    pub settle_with_auth: bool,
    pub card: TokenRef<'a>,
    pub authentication: AuthenticationBlock<'a>,
}

/// The `authentication` block of an authorization.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationBlock<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eci: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cavv: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_d_result: Option<&'static str>,
    pub three_d_secure_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_server_transaction_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_d_enrollment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_status: Option<&'a str>,
}

impl<'a> AuthenticationBlock<'a> {
    pub fn of(values: &'a Authenticated) -> AuthenticationBlock<'a> {
        let legacy = values.is_legacy();
        AuthenticationBlock {
            eci: values.eci.map(Eci::value),
            cavv: values.cavv.as_deref(),
            three_d_result: values.trans_status.map(TransStatus::as_str),
            three_d_secure_version: &values.version,
            directory_server_transaction_id: if legacy {
                None
            } else {
                values.ds_transaction_id.as_deref()
            },
            xid: if legacy { values.xid.as_deref() } else { None },
            three_d_enrollment: if legacy {
                values.enrollment.as_deref()
            } else {
                None
            },
            signature_status: if legacy {
                values.signature_status.as_deref()
            } else {
                None
            },
        }
    }
}

/// The authorization's answer: only what the result needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub id: String,
    pub status: String,
    /// What was authorized (minor units), in `currency_code`: the account's currency.
    pub amount: Option<u64>,
    pub currency_code: Option<String>,
}

/// `GET /cardpayments/v1/accounts/{acct}/auths?merchantRefNum=…`: the authorizations
/// Paysafe holds under a merchantRefNum (`{"auths": […]}`; none: an empty list).
#[derive(Debug, Deserialize)]
pub struct AuthList {
    #[serde(default)]
    pub auths: Vec<FoundAuth>,
}

/// One authorization as a lookup shows it: what tells whether it is the payment's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundAuth {
    pub id: String,
    pub merchant_ref_num: Option<String>,
    pub status: String,
    pub amount: Option<u64>,
    pub currency_code: Option<String>,
    /// Why a FAILED authorization failed (a decline's `3009`).
    pub error: Option<ErrorBody>,
}

/// Paysafe's error envelope: `{"error": {code, message, details?, fieldErrors?}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
    #[serde(rename = "existingTransactionId")]
    pub existing_transaction_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub field_errors: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

impl ErrorBody {
    /// The message, with the fields Paysafe named (`card.cardNum: invalid card number`).
    pub fn full_message(&self) -> String {
        if self.field_errors.is_empty() {
            return self.message.clone();
        }
        let fields: Vec<String> = self
            .field_errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.error))
            .collect();
        format!("{} ({})", self.message, fields.join("; "))
    }
}
