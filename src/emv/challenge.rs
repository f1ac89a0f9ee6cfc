//! The browser challenge: window sizes, the CReq the page posts to the ACS, and the
//! final CRes (or Erro message) the ACS posts to the notification URL ([EMV] §A.5.4).

use serde::{Deserialize, Serialize};

#[cfg(feature = "json")]
use super::form::FormPost;
use super::outcome::TransStatus;
use super::{base64url, EmvError};

/// `challengeWindowSize`: 01–04 are fixed pixel sizes (width × height), 05 full screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ChallengeWindowSize {
    /// 01: 250 × 400.
    W250xH400,
    /// 02: 390 × 400.
    W390xH400,
    /// 03: 500 × 600.
    W500xH600,
    /// 04: 600 × 400.
    W600xH400,
    /// 05: full screen.
    FullScreen,
}

impl ChallengeWindowSize {
    pub const FIXED: [ChallengeWindowSize; 4] = [
        ChallengeWindowSize::W250xH400,
        ChallengeWindowSize::W390xH400,
        ChallengeWindowSize::W500xH600,
        ChallengeWindowSize::W600xH400,
    ];

    pub fn parse(text: &str) -> Result<ChallengeWindowSize, EmvError> {
        Ok(match text {
            "01" => ChallengeWindowSize::W250xH400,
            "02" => ChallengeWindowSize::W390xH400,
            "03" => ChallengeWindowSize::W500xH600,
            "04" => ChallengeWindowSize::W600xH400,
            "05" => ChallengeWindowSize::FullScreen,
            _ => return Err(EmvError::InvalidWindowSize),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeWindowSize::W250xH400 => "01",
            ChallengeWindowSize::W390xH400 => "02",
            ChallengeWindowSize::W500xH600 => "03",
            ChallengeWindowSize::W600xH400 => "04",
            ChallengeWindowSize::FullScreen => "05",
        }
    }

    /// `(width, height)` in CSS pixels; `None` for full screen.
    pub fn pixels(self) -> Option<(u32, u32)> {
        match self {
            ChallengeWindowSize::W250xH400 => Some((250, 400)),
            ChallengeWindowSize::W390xH400 => Some((390, 400)),
            ChallengeWindowSize::W500xH600 => Some((500, 600)),
            ChallengeWindowSize::W600xH400 => Some((600, 400)),
            ChallengeWindowSize::FullScreen => None,
        }
    }

    /// The largest fixed size (by area) that fits a `width × height` container; full
    /// screen when not even 250 × 400 fits, as on a very small phone.
    pub fn largest_fitting(width: u32, height: u32) -> ChallengeWindowSize {
        Self::FIXED
            .into_iter()
            .filter_map(|size| size.pixels().map(|(w, h)| (size, w, h)))
            .filter(|&(_, w, h)| w <= width && h <= height)
            .max_by_key(|&(_, w, h)| w * h)
            .map(|(size, _, _)| size)
            .unwrap_or(ChallengeWindowSize::FullScreen)
    }
}

impl From<ChallengeWindowSize> for String {
    fn from(size: ChallengeWindowSize) -> String {
        size.as_str().to_owned()
    }
}

impl TryFrom<String> for ChallengeWindowSize {
    type Error = EmvError;
    fn try_from(text: String) -> Result<ChallengeWindowSize, EmvError> {
        ChallengeWindowSize::parse(&text)
    }
}

/// The browser CReq ([CH] `creq.html`): the app-only members are absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CReq {
    #[serde(rename = "threeDSServerTransID")]
    pub three_ds_server_trans_id: String,
    #[serde(rename = "acsTransID")]
    pub acs_trans_id: String,
    #[serde(rename = "messageType")]
    pub message_type: CReqType,
    #[serde(rename = "messageVersion")]
    pub message_version: String,
    #[serde(rename = "challengeWindowSize")]
    pub challenge_window_size: ChallengeWindowSize,
}

/// The literal `"CReq"`, so that a CReq value cannot carry another message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CReqType {
    CReq,
}
crate::unit_variant::deserialize_by_name!(CReqType { CReq = "CReq" });

impl CReq {
    pub fn new(
        three_ds_server_trans_id: String,
        acs_trans_id: String,
        message_version: String,
        size: ChallengeWindowSize,
    ) -> CReq {
        CReq {
            three_ds_server_trans_id,
            acs_trans_id,
            message_type: CReqType::CReq,
            message_version,
            challenge_window_size: size,
        }
    }

    #[cfg(feature = "json")]
    pub fn to_base64url(&self) -> String {
        base64url::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    #[cfg(feature = "json")]
    pub fn from_base64url(text: &str) -> Result<CReq, EmvError> {
        let bytes = base64url::decode(text)?;
        // Read as text (invalid UTF-8 is refused as from_slice refused it), through the
        // crate's one JSON reader (`crate::json_path`, docs/edge/measurements.md).
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|json| crate::json_path::from_text(json).ok())
            .ok_or(EmvError::InvalidJson { message: "CReq" })
    }

    /// The challenge form: `creq`, and `threeDSSessionData` when the requestor keeps state
    /// in it (at most 1024 bytes of base64url, echoed back with the CRes).
    #[cfg(feature = "json")]
    pub fn form(&self, acs_url: &str, session_data: Option<&str>) -> Result<FormPost, EmvError> {
        let mut form = FormPost::post(acs_url, [("creq", self.to_base64url())]);
        if let Some(data) = session_data {
            form.fields.push(super::form::FormField {
                name: "threeDSSessionData".to_owned(),
                value: ThreeDsSessionData::new(data)?.into_inner(),
            });
        }
        Ok(form)
    }
}

/// `threeDSSessionData`: base64url, at most 1024 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreeDsSessionData(String);

impl ThreeDsSessionData {
    pub const MAX_BYTES: usize = 1024;

    /// Encodes `state` and checks the 1024-byte limit.
    pub fn new(state: &str) -> Result<ThreeDsSessionData, EmvError> {
        let encoded = base64url::encode(state);
        if encoded.len() > Self::MAX_BYTES {
            return Err(EmvError::InvalidField {
                field: "threeDSSessionData",
            });
        }
        Ok(ThreeDsSessionData(encoded))
    }

    /// The state behind a received value.
    pub fn decode(encoded: &str) -> Result<String, EmvError> {
        if encoded.len() > Self::MAX_BYTES {
            return Err(EmvError::InvalidField {
                field: "threeDSSessionData",
            });
        }
        base64url::decode_utf8(encoded)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A final CRes: only Y or N may end a browser challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CRes {
    pub three_ds_server_trans_id: String,
    pub acs_trans_id: String,
    pub message_version: String,
    pub trans_status: TransStatus,
}

/// An Erro message from the ACS in place of the CRes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErroMessage {
    pub error_code: String,
    pub error_component: Option<String>,
    pub error_description: String,
    pub error_detail: Option<String>,
}

/// How a browser challenge ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeOutcome {
    Completed(CRes),
    Failed(ErroMessage),
}

impl ChallengeOutcome {
    /// Parses the `cres` form field (base64url JSON): lenient on extra members
    /// (challengeCompletionInd, messageExtension, …), strict on messageType and
    /// transStatus. Read as members of the crate's one JSON value reader (a key given
    /// twice is refused), not by a derived reader of its own (docs/edge/measurements.md).
    #[cfg(feature = "json")]
    pub fn from_base64url(text: &str) -> Result<ChallengeOutcome, EmvError> {
        use serde_json::Value;
        let invalid = || EmvError::InvalidJson { message: "CRes" };
        let bytes = base64url::decode(text)?;
        let value = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|json| crate::json_path::value(json).ok())
            .ok_or_else(invalid)?;
        let Value::Object(members) = value else {
            return Err(invalid());
        };
        // Each member the message may have is text, or null for none: any other kind is
        // refused, whichever message it is.
        const MEMBERS: [&str; 9] = [
            "messageType",
            "messageVersion",
            "threeDSServerTransID",
            "acsTransID",
            "transStatus",
            "errorCode",
            "errorComponent",
            "errorDescription",
            "errorDetail",
        ];
        if MEMBERS.iter().any(|name| {
            !matches!(
                members.get(*name),
                None | Some(Value::Null | Value::String(_))
            )
        }) {
            return Err(invalid());
        }
        let text = |name: &str| members.get(name).and_then(Value::as_str).map(str::to_owned);
        let required = |field: &'static str| text(field).ok_or(EmvError::MissingField { field });
        match text("messageType").as_deref() {
            Some("CRes") => {
                let status_text = required("transStatus")?;
                let trans_status = TransStatus::parse(&status_text)?;
                if !matches!(trans_status, TransStatus::Y | TransStatus::N) {
                    return Err(EmvError::InvalidTransStatus(status_text));
                }
                Ok(ChallengeOutcome::Completed(CRes {
                    three_ds_server_trans_id: required("threeDSServerTransID")?,
                    acs_trans_id: required("acsTransID")?,
                    message_version: required("messageVersion")?,
                    trans_status,
                }))
            }
            Some("Erro") => Ok(ChallengeOutcome::Failed(ErroMessage {
                error_code: required("errorCode")?,
                error_component: text("errorComponent"),
                error_description: text("errorDescription").unwrap_or_default(),
                error_detail: text("errorDetail"),
            })),
            Some(other) => Err(EmvError::UnexpectedMessageType {
                expected: "CRes",
                found: other.to_owned(),
            }),
            None => Err(EmvError::MissingField {
                field: "messageType",
            }),
        }
    }
}
