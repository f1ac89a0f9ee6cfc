//! The 3DS Method: the issuer's device-fingerprint page, loaded in a hidden iframe
//! before the AReq ([EMV] §5.8.1, §A.5.3).

use serde::{Deserialize, Serialize};

use super::form::FormPost;
#[cfg(feature = "json")]
use super::{base64url, EmvError};

/// How long the Method may take before the AReq goes out with `threeDSCompInd = N`.
pub const METHOD_TIMEOUT_MS: u32 = 10_000;

/// `threeDSMethodData`: base64url JSON. The request carries both members; the
/// completion posted back to the notification URL carries the transaction id only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeDsMethodData {
    #[serde(rename = "threeDSServerTransID")]
    pub three_ds_server_trans_id: String,
    #[serde(
        rename = "threeDSMethodNotificationURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub notification_url: Option<String>,
}

impl ThreeDsMethodData {
    /// The hidden-iframe form: POST `threeDSMethodData` to the issuer's Method URL.
    #[cfg(feature = "json")]
    pub fn form(&self, method_url: &str) -> FormPost {
        FormPost::post(method_url, [("threeDSMethodData", self.to_base64url())])
    }

    #[cfg(feature = "json")]
    pub fn to_base64url(&self) -> String {
        base64url::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    #[cfg(feature = "json")]
    pub fn from_base64url(text: &str) -> Result<ThreeDsMethodData, EmvError> {
        let bytes = base64url::decode(text)?;
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|json| crate::json_path::from_text(json).ok())
            .ok_or(EmvError::InvalidJson {
                message: "threeDSMethodData",
            })
    }

    /// The form for an already encoded value (the browser encodes with the page's JSON).
    pub fn form_with_encoded(method_url: &str, encoded: String) -> FormPost {
        FormPost::post(method_url, [("threeDSMethodData", encoded)])
    }
}

/// `threeDSCompInd`: how the 3DS Method went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ThreeDsCompInd {
    /// Completed within 10 seconds.
    Y,
    /// Not completed within 10 seconds.
    N,
    /// The issuer has no Method URL.
    U,
}
crate::unit_variant::deserialize_by_name!(ThreeDsCompInd { Y = "Y", N = "N", U = "U" });

impl ThreeDsCompInd {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreeDsCompInd::Y => "Y",
            ThreeDsCompInd::N => "N",
            ThreeDsCompInd::U => "U",
        }
    }

    pub fn parse(text: &str) -> Option<ThreeDsCompInd> {
        match text {
            "Y" => Some(ThreeDsCompInd::Y),
            "N" => Some(ThreeDsCompInd::N),
            "U" => Some(ThreeDsCompInd::U),
            _ => None,
        }
    }
}
