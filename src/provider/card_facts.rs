//! The card facts a provider's answer carries (brand, BIN, last four), for a payment the
//! page made with the provider's token: the backend never saw the number, so the card
//! summary comes from what the provider tells of the card. Only masked facts are read;
//! a value that could be a whole card number is ignored.
//!
//! - Paysafe: the authentication's `card: {cardBin, lastDigits, type}`.
//! - Bambora: the payment's `card: {card_type, last_four, card_bin}`.
//! - Payroc: the payment's `card: {type, cardNumber: "453985******7062"}`.
//! - dLocal: the payment's `card: {brand, last4}` (no BIN: it stays empty).

use serde_json::Value;

use crate::emv::CardBrand;
use crate::payment::CardSummary;

use super::HttpResponse;

fn card(response: &HttpResponse) -> Option<Value> {
    if !response.is_success() {
        return None;
    }
    let body = crate::json_path::value(&response.body).ok()?;
    body.get("card").filter(|card| card.is_object()).cloned()
}

fn digits(value: Option<&Value>, len: usize) -> Option<String> {
    let text = value?.as_str()?;
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.to_owned())
}

fn summary(brand: CardBrand, bin: String, last_four: String) -> CardSummary {
    CardSummary {
        brand,
        bin,
        last_four,
    }
}

/// Paysafe, Bambora: a six-digit BIN and the last four, each in its own member.
fn bin_and_last_four(card: &Value, bin: &str, last_four: &str) -> Option<CardSummary> {
    let bin = digits(card.get(bin), 6)?;
    let last_four = digits(card.get(last_four), 4)?;
    Some(summary(CardBrand::from_pan(&bin), bin, last_four))
}

pub fn paysafe(response: &HttpResponse) -> Option<CardSummary> {
    bin_and_last_four(&card(response)?, "cardBin", "lastDigits")
}

pub fn bambora(response: &HttpResponse) -> Option<CardSummary> {
    bin_and_last_four(&card(response)?, "card_bin", "last_four")
}

/// Payroc's masked `cardNumber`: the first six and the last four around the stars.
pub fn payroc(response: &HttpResponse) -> Option<CardSummary> {
    let card = card(response)?;
    let masked = card.get("cardNumber")?.as_str()?;
    let (head, tail) = (masked.split('*').next()?, masked.rsplit('*').next()?);
    if !masked.contains('*') || head.len() < 6 || tail.len() != 4 {
        return None;
    }
    // By characters, not bytes: a masked number is the provider's text, and a byte index
    // inside a character would panic.
    let bin: String = head.chars().take(6).collect();
    let bin = digits(Some(&Value::from(bin)), 6)?;
    let last_four = digits(Some(&Value::from(tail)), 4)?;
    Some(summary(CardBrand::from_pan(&bin), bin, last_four))
}

/// dLocal's brand code and last four; dLocal answers no BIN.
pub fn dlocal(response: &HttpResponse) -> Option<CardSummary> {
    let card = card(response)?;
    let last_four = digits(card.get("last4"), 4)?;
    let brand = match card.get("brand")?.as_str()? {
        "VI" | "VD" => CardBrand::Visa,
        "MC" | "MD" => CardBrand::Mastercard,
        "AE" | "AM" => CardBrand::Amex,
        "DI" => CardBrand::Discover,
        "JC" => CardBrand::Jcb,
        "DC" => CardBrand::Diners,
        "EL" => CardBrand::Elo,
        "CU" | "UP" => CardBrand::UnionPay,
        _ => CardBrand::Unknown,
    };
    Some(summary(brand, String::new(), last_four))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    #[test]
    fn each_provider_s_masked_card_facts() {
        let paysafe = super::paysafe(&ok(
            r#"{"card":{"cardBin":"520000","lastDigits":"1005","type":"MC"}}"#,
        ))
        .unwrap();
        assert_eq!(
            (
                paysafe.brand,
                paysafe.bin.as_str(),
                paysafe.last_four.as_str()
            ),
            (CardBrand::Mastercard, "520000", "1005")
        );
        let bambora = super::bambora(&ok(
            r#"{"card":{"card_type":"VI","last_four":"1000","card_bin":"400000"}}"#,
        ))
        .unwrap();
        assert_eq!(
            (bambora.brand, bambora.bin.as_str()),
            (CardBrand::Visa, "400000")
        );
        let payroc = super::payroc(&ok(
            r#"{"card":{"type":"visa","cardNumber":"400000******2008"}}"#,
        ))
        .unwrap();
        assert_eq!(
            (payroc.bin.as_str(), payroc.last_four.as_str()),
            ("400000", "2008")
        );
        let dlocal = super::dlocal(&ok(r#"{"card":{"brand":"VI","last4":"1000"}}"#)).unwrap();
        assert_eq!((dlocal.brand, dlocal.bin.as_str()), (CardBrand::Visa, ""));
    }

    #[test]
    fn never_a_whole_number_nor_an_error_answer() {
        let unmasked = ok(r#"{"card":{"cardNumber":"4000000000001000"}}"#);
        assert_eq!(super::payroc(&unmasked), None);
        let long_bin = ok(r#"{"card":{"cardBin":"4000000000001000","lastDigits":"1000"}}"#);
        assert_eq!(super::paysafe(&long_bin), None);
        let refused = HttpResponse {
            status: 402,
            headers: Vec::new(),
            body: r#"{"card":{"card_bin":"400000","last_four":"1000"}}"#.into(),
        };
        assert_eq!(super::bambora(&refused), None);
        // Not digits, whatever their bytes: no summary, and no panic on a character that
        // straddles the sixth byte.
        for masked in ["40000é******2008", "ééé******2008", "400000******20é8"] {
            let body = format!(r#"{{"card":{{"cardNumber":"{masked}"}}}}"#);
            assert_eq!(super::payroc(&ok(&body)), None, "{masked}");
        }
    }
}
