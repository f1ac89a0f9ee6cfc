//! The one error type of the EMV core. Every variant has a stable `code()` that the
//! backend's JSON errors and the JavaScript side can switch on; messages may change.

/// Why a piece of 3-D Secure input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmvError {
    #[error("not valid base64url")]
    InvalidBase64,
    #[error("not valid JSON for {message}")]
    InvalidJson { message: &'static str },
    #[error("{field} is missing")]
    MissingField { field: &'static str },
    #[error("{field} has a value outside the specification")]
    InvalidField { field: &'static str },
    #[error("transStatus {0:?} is not allowed here")]
    InvalidTransStatus(String),
    #[error("messageType {found:?} where {expected} was expected")]
    UnexpectedMessageType {
        expected: &'static str,
        found: String,
    },
    #[error("challengeWindowSize must be 01 to 05")]
    InvalidWindowSize,
    #[error("not an IPv4 or IPv6 address")]
    InvalidIp,
    #[error("the card number is not 13 to 19 digits with a valid check digit")]
    InvalidCardNumber,
    #[error("{0} requires browser fields that only JavaScript can read")]
    JavascriptRequired(&'static str),
    #[error("unknown 3-D Secure message version {0:?}")]
    UnsupportedVersion(String),
}

impl EmvError {
    /// A stable, machine-readable code (snake_case).
    pub fn code(&self) -> &'static str {
        match self {
            EmvError::InvalidBase64 => "invalid_base64url",
            EmvError::InvalidJson { .. } => "invalid_json",
            EmvError::MissingField { .. } => "missing_field",
            EmvError::InvalidField { .. } => "invalid_field",
            EmvError::InvalidTransStatus(_) => "invalid_trans_status",
            EmvError::UnexpectedMessageType { .. } => "unexpected_message_type",
            EmvError::InvalidWindowSize => "invalid_challenge_window_size",
            EmvError::InvalidIp => "invalid_ip",
            EmvError::InvalidCardNumber => "invalid_card_number",
            EmvError::JavascriptRequired(_) => "javascript_required",
            EmvError::UnsupportedVersion(_) => "unsupported_message_version",
        }
    }
}
