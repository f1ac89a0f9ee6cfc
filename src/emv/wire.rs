//! The wire shapes of [`BrowserDetails`]: EMV AReq field names per message version,
//! Paysafe's `browserDetails` and Bambora's `3d_secure.browser`. Renaming and the
//! per-version presence rules only; the values were settled in [`super::browser`].

use serde::Serialize;

use super::browser::{format_ip, truncate_chars, BrowserDetails, MessageVersion, ScriptReadings};
use super::EmvError;

/// The browser fields of an EMV AReq (Table A.1 part 2), as strings where EMV says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AreqBrowserFields {
    pub browser_accept_header: String,
    #[serde(rename = "browserIP", skip_serializing_if = "Option::is_none")]
    pub browser_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_java_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_javascript_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_color_depth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_screen_height: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_screen_width: Option<String>,
    #[serde(rename = "browserTZ", skip_serializing_if = "Option::is_none")]
    pub browser_tz: Option<String>,
    pub browser_user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_language: Option<Vec<String>>,
}

impl BrowserDetails {
    /// The AReq browser fields for `version`:
    /// - 2.1.0 has no browserJavascriptEnabled and requires every script reading, so a
    ///   browser without JavaScript cannot be described in it;
    /// - 2.2.0 adds browserJavascriptEnabled; the script readings go only when it is true;
    /// - 2.3.1 adds acceptLanguage (required) and makes browserLanguage conditional too.
    pub fn to_areq(&self, version: MessageVersion) -> Result<AreqBrowserFields, EmvError> {
        let script = self.script();
        if version == MessageVersion::V2_1_0 && script.is_none() {
            return Err(EmvError::JavascriptRequired("EMV 3DS 2.1.0"));
        }
        let language = self.language().map(|l| l.as_str().to_owned());
        let language_required = version < MessageVersion::V2_3_1 || script.is_some();
        if language_required && language.is_none() {
            return Err(EmvError::MissingField {
                field: "browserLanguage",
            });
        }
        let accept_language = (version == MessageVersion::V2_3_1).then(|| {
            self.languages()
                .iter()
                .map(|l| l.as_str().to_owned())
                .collect::<Vec<_>>()
        });
        if accept_language.as_ref().is_some_and(Vec::is_empty) {
            return Err(EmvError::MissingField {
                field: "acceptLanguage",
            });
        }
        Ok(AreqBrowserFields {
            browser_accept_header: self.accept_header().to_owned(),
            browser_ip: self.ip().map(format_ip),
            browser_java_enabled: script.map(|s| s.java_enabled),
            browser_javascript_enabled: (version >= MessageVersion::V2_2_0)
                .then_some(script.is_some()),
            browser_language: if language_required || script.is_some() {
                language
            } else {
                None
            },
            browser_color_depth: script.map(|s| s.color_depth.bits().to_string()),
            browser_screen_height: script.map(|s| s.screen_height.get().to_string()),
            browser_screen_width: script.map(|s| s.screen_width.get().to_string()),
            browser_tz: script.map(|s| s.time_zone.minutes().to_string()),
            browser_user_agent: self.user_agent().to_owned(),
            accept_language,
        })
    }

    /// Paysafe's `browserDetails`: every member is required, so JavaScript must have run
    /// and the client IP must be known. Paysafe caps the user agent at 256 characters.
    pub fn to_paysafe(&self) -> Result<PaysafeBrowserDetails, EmvError> {
        let script = self.require_script("Paysafe browserDetails")?;
        let ip = self.ip().ok_or(EmvError::MissingField {
            field: "customerIp",
        })?;
        Ok(PaysafeBrowserDetails {
            accept_header: self.accept_header().to_owned(),
            color_depth_bits: script.color_depth.bits().to_string(),
            customer_ip: ip.to_string(),
            javascript_enabled: true,
            java_enabled: script.java_enabled,
            language: self.required_language()?,
            screen_height: script.screen_height.get(),
            screen_width: script.screen_width.get(),
            timezone_offset: script.time_zone.minutes(),
            user_agent: truncate_chars(self.user_agent(), PAYSAFE_MAX_USER_AGENT).to_owned(),
        })
    }

    /// Bambora's `3d_secure.browser` (required members per its OpenAPI spec 1.0.5).
    pub fn to_bambora(&self) -> Result<BamboraBrowser, EmvError> {
        let script = self.require_script("Bambora 3d_secure.browser")?;
        Ok(BamboraBrowser {
            accept_header: self.accept_header().to_owned(),
            java_enabled: script.java_enabled,
            language: self.required_language()?,
            color_depth: script.color_depth.bits(),
            screen_height: script.screen_height.get(),
            screen_width: script.screen_width.get(),
            time_zone: script.time_zone.minutes(),
            user_agent: self.user_agent().to_owned(),
            javascript_enabled: true,
        })
    }

    fn require_script(&self, shape: &'static str) -> Result<&ScriptReadings, EmvError> {
        self.script().ok_or(EmvError::JavascriptRequired(shape))
    }

    fn required_language(&self) -> Result<String, EmvError> {
        self.language()
            .map(|l| l.as_str().to_owned())
            .ok_or(EmvError::MissingField {
                field: "browserLanguage",
            })
    }
}

/// Paysafe documents `userAgent` as at most 256 characters.
pub const PAYSAFE_MAX_USER_AGENT: usize = 256;

/// Paysafe 3DS2 `browserDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaysafeBrowserDetails {
    pub accept_header: String,
    /// An enum of the EMV depths, sent as a string.
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

/// Bambora `card.3d_secure.browser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BamboraBrowser {
    pub accept_header: String,
    pub java_enabled: bool,
    pub language: String,
    pub color_depth: u8,
    pub screen_height: u32,
    pub screen_width: u32,
    pub time_zone: i16,
    pub user_agent: String,
    pub javascript_enabled: bool,
}
