//! [`Secret`]: a credential from the configuration (an API key, a password, a signing
//! key). Owns keeping it out of logs and nothing else: `Debug` prints `***`, there is no
//! `Display` and no `Serialize`, and the one way to the text is [`Secret::expose`], at
//! the line that puts it on the wire.

use std::fmt;

use serde::Deserialize;

/// A credential string. Read from configuration as a plain string (`#[serde(transparent)]`),
/// printed as `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential's text, for the request or signature that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_a_plain_string_and_never_prints() {
        let secret: Secret = serde_json::from_str(r#""s3cret-value""#).expect("a string");
        assert_eq!(secret.expose(), "s3cret-value");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
        assert!(serde_json::from_str::<Secret>("42").is_err());
    }
}
