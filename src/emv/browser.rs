//! EMV browser details (deviceChannel 02): raw readings in, a validated value out.
//!
//! The page reads what only JavaScript can (screen, colour depth, timezone, language,
//! Java); the server adds what only it sees exactly (the Accept header, the client IP,
//! Accept-Language when JavaScript is off). [`BrowserDetails::build`] applies the rules
//! of [EMV] §A.4/§A.5.2 once; the wire shapes in [`super::wire`] only rename.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::EmvError;

/// The longest Accept header or user agent EMV carries; longer ones are truncated.
pub const MAX_HEADER_CHARS: usize = 2048;

/// EMV 3-D Secure message versions this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum MessageVersion {
    #[serde(rename = "2.1.0")]
    V2_1_0,
    #[serde(rename = "2.2.0")]
    V2_2_0,
    #[serde(rename = "2.3.1")]
    V2_3_1,
}
crate::unit_variant::deserialize_by_name!(MessageVersion { V2_1_0 = "2.1.0", V2_2_0 = "2.2.0", V2_3_1 = "2.3.1" });

impl MessageVersion {
    pub fn parse(text: &str) -> Result<MessageVersion, EmvError> {
        match text {
            "2.1.0" => Ok(MessageVersion::V2_1_0),
            "2.2.0" => Ok(MessageVersion::V2_2_0),
            "2.3.1" => Ok(MessageVersion::V2_3_1),
            other => Err(EmvError::UnsupportedVersion(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageVersion::V2_1_0 => "2.1.0",
            MessageVersion::V2_2_0 => "2.2.0",
            MessageVersion::V2_3_1 => "2.3.1",
        }
    }
}

/// What the page read, as JavaScript gives it. Every reading may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrowserReadings {
    pub screen_width: Option<i64>,
    pub screen_height: Option<i64>,
    pub color_depth: Option<i64>,
    /// `new Date().getTimezoneOffset()`, as is.
    pub timezone_offset: Option<i64>,
    /// `navigator.language`.
    pub language: Option<String>,
    /// `navigator.languages`, for 2.3.1's acceptLanguage.
    pub languages: Vec<String>,
    /// `navigator.javaEnabled()`, `None` when the call is missing or threw.
    pub java_enabled: Option<bool>,
    pub javascript_enabled: bool,
    pub user_agent: Option<String>,
}

/// What the server saw on the browser's own request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerReadings {
    pub accept_header: Option<String>,
    pub accept_language: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Colour depth in bits per pixel, from the set EMV allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum ColorDepth {
    Bits1 = 1,
    Bits4 = 4,
    Bits8 = 8,
    Bits15 = 15,
    Bits16 = 16,
    Bits24 = 24,
    Bits32 = 32,
    Bits48 = 48,
}

impl ColorDepth {
    const ALL: [ColorDepth; 8] = [
        ColorDepth::Bits1,
        ColorDepth::Bits4,
        ColorDepth::Bits8,
        ColorDepth::Bits15,
        ColorDepth::Bits16,
        ColorDepth::Bits24,
        ColorDepth::Bits32,
        ColorDepth::Bits48,
    ];

    /// Rounds a reported depth down to the allowed set (30 → 24, 64 → 48); a missing or
    /// non-positive reading is taken as 24.
    pub fn from_reading(reading: Option<i64>) -> ColorDepth {
        match reading {
            Some(bits) if bits >= 1 => Self::ALL
                .into_iter()
                .rev()
                .find(|depth| i64::from(depth.bits()) <= bits)
                .unwrap_or(ColorDepth::Bits24),
            _ => ColorDepth::Bits24,
        }
    }

    pub fn bits(self) -> u8 {
        self as u8
    }
}

impl From<ColorDepth> for u8 {
    fn from(depth: ColorDepth) -> u8 {
        depth.bits()
    }
}

impl TryFrom<u8> for ColorDepth {
    type Error = EmvError;
    fn try_from(bits: u8) -> Result<ColorDepth, EmvError> {
        Self::ALL
            .into_iter()
            .find(|depth| depth.bits() == bits)
            .ok_or(EmvError::InvalidField {
                field: "browserColorDepth",
            })
    }
}

/// `browserTZ`: UTC minus local time in minutes, exactly `getTimezoneOffset()`
/// (UTC−5 → 300, India → −330), within the specification's `^[+-]?[0-9]{1,4}$`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i16", try_from = "i64")]
pub struct TimeZoneOffset(i16);

impl TimeZoneOffset {
    pub fn minutes(self) -> i16 {
        self.0
    }
}

impl From<TimeZoneOffset> for i16 {
    fn from(offset: TimeZoneOffset) -> i16 {
        offset.0
    }
}

impl TryFrom<i64> for TimeZoneOffset {
    type Error = EmvError;
    fn try_from(minutes: i64) -> Result<TimeZoneOffset, EmvError> {
        i16::try_from(minutes)
            .ok()
            .filter(|m| (-9999..=9999).contains(m))
            .map(TimeZoneOffset)
            .ok_or(EmvError::InvalidField { field: "browserTZ" })
    }
}

/// A screen dimension in pixels: 1 to 6 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "i64")]
pub struct ScreenPixels(u32);

impl ScreenPixels {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl From<ScreenPixels> for u32 {
    fn from(pixels: ScreenPixels) -> u32 {
        pixels.0
    }
}

impl TryFrom<i64> for ScreenPixels {
    type Error = EmvError;
    fn try_from(pixels: i64) -> Result<ScreenPixels, EmvError> {
        u32::try_from(pixels)
            .ok()
            .filter(|p| *p <= 999_999)
            .map(ScreenPixels)
            .ok_or(EmvError::InvalidField {
                field: "browserScreenWidth/Height",
            })
    }
}

/// A BCP47 language tag of at most 8 characters. Longer tags keep language-region
/// (`zh-Hant-TW` → `zh-TW`, `en-GB-oxendict` → `en-GB`), else the language alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BrowserLanguage(String);

impl BrowserLanguage {
    pub fn parse(tag: &str) -> Result<BrowserLanguage, EmvError> {
        let invalid = EmvError::InvalidField {
            field: "browserLanguage",
        };
        // Normalised in place, subtag by subtag (the checkout page's module builds this
        // too: no Vec of pieces, no format!).
        let mut full = String::with_capacity(tag.len());
        let mut language = 0;
        let mut region = None;
        let tag = tag.trim();
        // Split at ASCII separators by bytes (every piece starts and ends at a char
        // boundary); a char-pattern splitter would decode UTF-8 all the way.
        let mut offset = 0;
        for (position, piece) in tag
            .as_bytes()
            .split(|b| matches!(b, b'-' | b'_'))
            .enumerate()
        {
            let subtag = &tag[offset..offset + piece.len()];
            offset += piece.len() + 1;
            let alpha = subtag.bytes().all(|b| b.is_ascii_alphabetic());
            let digits = subtag.bytes().all(|b| b.is_ascii_digit());
            let well_formed = (1..=8).contains(&subtag.len())
                && subtag.bytes().all(|b| b.is_ascii_alphanumeric());
            if !well_formed || (position == 0 && (subtag.len() < 2 || !alpha)) {
                return Err(invalid);
            }
            if position > 0 {
                full += "-"; // push_str: push(char) would bring UTF-8 encoding (+108 B)
            }
            let start = full.len();
            full.push_str(subtag);
            full[start..].make_ascii_lowercase();
            if position == 0 {
                language = full.len();
            } else if position == 1 && subtag.len() == 4 && alpha {
                full[start..start + 1].make_ascii_uppercase();
            } else if position <= 2
                && region.is_none()
                && ((subtag.len() == 2 && alpha) || (subtag.len() == 3 && digits))
            {
                full[start..].make_ascii_uppercase();
                region = Some((start, full.len()));
            }
        }
        // The whole tag if it fits, else language-region, else the language alone.
        if full.len() > 8 {
            match region {
                Some((start, end)) if language + 1 + (end - start) <= 8 => {
                    full.truncate(end);
                    full.drain(language + 1..start);
                }
                _ => full.truncate(language),
            }
        }
        Ok(BrowserLanguage(full))
    }

    /// The tags of an Accept-Language header, best first, each made to fit; `*`, a
    /// weight of 0 and malformed entries (a tag that is not one, a `q` that is not an
    /// RFC 9110 qvalue) are skipped.
    pub fn from_accept_language(header: &str) -> Vec<BrowserLanguage> {
        let mut weighted: Vec<(u16, usize, BrowserLanguage)> = Vec::new();
        for (index, entry) in header.split(',').enumerate() {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = match parts.find_map(weight) {
                Some(q) => qvalue(q.trim()),
                None => Some(1000),
            };
            let Some(quality) = quality.filter(|q| *q > 0) else {
                continue;
            };
            if tag == "*" {
                continue;
            }
            if let Ok(language) = BrowserLanguage::parse(tag) {
                if !weighted.iter().any(|(_, _, seen)| *seen == language) {
                    weighted.push((quality, index, language));
                }
            }
        }
        weighted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        weighted
            .into_iter()
            .map(|(_, _, language)| language)
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The value of an Accept-Language entry's weight parameter (`q=`, any case).
fn weight(parameter: &str) -> Option<&str> {
    let parameter = parameter.trim();
    (parameter.get(..2)?.eq_ignore_ascii_case("q=")).then(|| &parameter[2..])
}

/// An RFC 9110 qvalue (`0`, `0.` and up to three digits, `1`, `1.` and up to three
/// zeros) in thousandths. Read by hand: `str::parse::<f32>` would bring the float parser
/// and its tables (about 10 KB gzip) into the edge worker for this one header.
fn qvalue(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |sum, digit| sum * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl From<BrowserLanguage> for String {
    fn from(language: BrowserLanguage) -> String {
        language.0
    }
}

impl TryFrom<String> for BrowserLanguage {
    type Error = EmvError;
    fn try_from(tag: String) -> Result<BrowserLanguage, EmvError> {
        BrowserLanguage::parse(&tag)
    }
}

/// The readings only a script can take; present exactly when JavaScript ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptReadings {
    pub java_enabled: bool,
    pub color_depth: ColorDepth,
    pub screen_width: ScreenPixels,
    pub screen_height: ScreenPixels,
    pub time_zone: TimeZoneOffset,
}

impl ScriptReadings {
    /// The rules for what a script read: the languages (best first, never empty) and the
    /// script-only readings. What the server applies to the page's readings.
    pub fn from_page(
        page: &BrowserReadings,
    ) -> Result<(Vec<BrowserLanguage>, ScriptReadings), EmvError> {
        let (first, script) = ScriptReadings::from_script(page)?;
        let mut languages = vec![first];
        for tag in &page.languages {
            if let Ok(language) = BrowserLanguage::parse(tag) {
                if !languages.contains(&language) {
                    languages.push(language);
                }
            }
        }
        Ok((languages, script))
    }

    /// The rules for what the checkout page sends by itself, before the server adds what
    /// only it sees: `browserLanguage` (from `navigator.language`) and the script-only
    /// readings. `navigator.languages` is not needed for that.
    pub fn from_script(
        page: &BrowserReadings,
    ) -> Result<(BrowserLanguage, ScriptReadings), EmvError> {
        let first = page
            .language
            .as_deref()
            .ok_or(EmvError::MissingField {
                field: "browserLanguage",
            })
            .and_then(BrowserLanguage::parse)?;
        let required =
            |reading: Option<i64>, field| reading.ok_or(EmvError::MissingField { field });
        let script = ScriptReadings {
            java_enabled: page.java_enabled.unwrap_or(false),
            color_depth: ColorDepth::from_reading(page.color_depth),
            screen_width: ScreenPixels::try_from(required(
                page.screen_width,
                "browserScreenWidth",
            )?)?,
            screen_height: ScreenPixels::try_from(required(
                page.screen_height,
                "browserScreenHeight",
            )?)?,
            time_zone: TimeZoneOffset::try_from(required(page.timezone_offset, "browserTZ")?)?,
        };
        Ok((first, script))
    }
}

/// Validated browser details: what every wire shape is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserDetails {
    accept_header: String,
    user_agent: String,
    ip: Option<IpAddr>,
    /// Best first; the first is `browserLanguage`. Never empty when JavaScript ran.
    languages: Vec<BrowserLanguage>,
    /// `None` when JavaScript is off.
    script: Option<ScriptReadings>,
}

impl BrowserDetails {
    /// Applies the EMV rules to the page's and the server's readings.
    pub fn build(
        page: &BrowserReadings,
        server: &ServerReadings,
    ) -> Result<BrowserDetails, EmvError> {
        let accept_header = server
            .accept_header
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .ok_or(EmvError::MissingField {
                field: "browserAcceptHeader",
            })?;
        let user_agent = server
            .user_agent
            .as_deref()
            .or(page.user_agent.as_deref())
            .filter(|ua| !ua.trim().is_empty())
            .ok_or(EmvError::MissingField {
                field: "browserUserAgent",
            })?;
        let ip = server.ip.as_deref().map(parse_ip).transpose()?;

        let (languages, script) = if page.javascript_enabled {
            let (languages, script) = ScriptReadings::from_page(page)?;
            (languages, Some(script))
        } else {
            let languages = server
                .accept_language
                .as_deref()
                .map(BrowserLanguage::from_accept_language)
                .unwrap_or_default();
            (languages, None)
        };

        Ok(BrowserDetails {
            accept_header: truncate_chars(accept_header, MAX_HEADER_CHARS).to_owned(),
            user_agent: truncate_chars(user_agent, MAX_HEADER_CHARS).to_owned(),
            ip,
            languages,
            script,
        })
    }

    pub fn accept_header(&self) -> &str {
        &self.accept_header
    }

    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    pub fn language(&self) -> Option<&BrowserLanguage> {
        self.languages.first()
    }

    pub fn languages(&self) -> &[BrowserLanguage] {
        &self.languages
    }

    pub fn script(&self) -> Option<&ScriptReadings> {
        self.script.as_ref()
    }

    pub fn javascript_enabled(&self) -> bool {
        self.script.is_some()
    }
}

/// IPv4, or IPv6 in any notation; an IPv4-mapped IPv6 address becomes its IPv4 form.
pub fn parse_ip(text: &str) -> Result<IpAddr, EmvError> {
    let ip: IpAddr = text.trim().parse().map_err(|_| EmvError::InvalidIp)?;
    Ok(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

/// EMV's IP notation: IPv4 dotted-decimal, IPv6 as eight groups of four hex digits.
pub fn format_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:04x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// The longest prefix of `text` with at most `max` characters (never splits a char).
pub fn truncate_chars(text: &str, max: usize) -> &str {
    // Counted on bytes: every byte that is not a UTF-8 continuation byte starts a char
    // (smaller in the checkout page's module than decoding with char_indices).
    let mut chars = 0;
    for (index, byte) in text.bytes().enumerate() {
        if (byte as i8) >= -0x40 {
            if chars == max {
                return &text[..index];
            }
            chars += 1;
        }
    }
    text
}
