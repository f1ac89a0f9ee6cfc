//! `POST /v1/reports` (the Reporting API's Search Query): the merchant's transactions
//! (approved and declined payments) created in a date range that meet every criterion,
//! one page of `SearchRecord`s, `{"records": []}` when none does. What a merchant looks a
//! payment up with when the answer to its create or continue was lost.

use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::Check;
use super::wire::{ApiError, PaymentType};
use super::{Memory, Transaction, MERCHANT_ID, MERCHANT_NAME};

/// The most rows one search answers (`end_row - start_row`).
const MAX_ROWS: i64 = 500;
/// `2015-04-22T10:03:19`: the dates of a query and of `Payment.created`.
const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// A validated `SearchQuery`.
#[derive(Debug)]
pub struct Query {
    /// `TransHistoryMinimal`: a subset of the members.
    minimal: bool,
    start: time::PrimitiveDateTime,
    end: time::PrimitiveDateTime,
    /// 1-based, inclusive.
    start_row: usize,
    end_row: usize,
    criteria: Vec<Criterion>,
}

/// One criterion: `field operator value`; all are ANDed.
#[derive(Debug)]
struct Criterion {
    field: Field,
    operator: Operator,
    value: String,
}

/// The searchable fields the sandbox serves (Bambora's numbers).
#[derive(Debug, Clone, Copy)]
enum Field {
    /// 1
    TransactionId,
    /// 2, dollars.
    Amount,
    /// 5
    OrderNumber,
    /// 10: 1 approved, 0 declined.
    Response,
}

#[derive(Debug, Clone, Copy)]
enum Operator {
    Equals,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    StartsWith,
}

/// `SearchResult`.
#[derive(Debug, Serialize)]
pub struct SearchResult {
    records: Vec<Record>,
}

/// `SearchRecord`: the members a `Search` answers; `TransHistoryMinimal` leaves out
/// those marked optional. Billing, shipping and product members are not kept by the
/// sandbox and left out.
#[derive(Debug, Serialize)]
struct Record {
    row_id: usize,
    trn_id: u64,
    /// `2017-06-01T14:27:28.000+00:00` (the sandbox merchant's time zone is UTC).
    trn_date_time: String,
    trn_type: PaymentType,
    trn_order_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    trn_payment_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trn_comments: Option<&'static str>,
    /// The number with its middle digits as `X`.
    trn_masked_card: String,
    /// Dollars.
    trn_amount: f64,
    trn_returns: f64,
    trn_completions: f64,
    trn_voided: u8,
    /// 1 approved, 0 declined.
    trn_response: u8,
    trn_card_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    trn_cvd_result: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trn_cavv_result: Option<String>,
    message_id: u32,
    message_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    trn_approval_code: Option<String>,
    ref1: String,
    ref2: String,
    ref3: String,
    ref4: String,
    ref5: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_abbr: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizing_merchant_id: Option<u64>,
}

/// Reads a `SearchQuery` body: every bad member is one detail of one 400 (code 314).
pub fn query(body: &Map<String, Value>) -> Result<Query, ApiError> {
    let mut check = Check::default();
    let minimal = match check.string(body, "name", "name", true, 32).as_deref() {
        Some("Search") | None => false,
        Some("TransHistoryMinimal") => true,
        Some(_) => {
            check.fail("name", "Must be 'Search' or 'TransHistoryMinimal'");
            false
        }
    };
    let start = date(&mut check, body, "start_date");
    let end = date(&mut check, body, "end_date");
    let start_row = whole(&mut check, body, "start_row");
    let end_row = whole(&mut check, body, "end_row");
    if let (Some(first), Some(last)) = (start_row, end_row) {
        if first < 1 || last < first || last - first > MAX_ROWS {
            check.fail(
                "end_row",
                "Rows are 1-based, end_row at least start_row and at most 500 after it",
            );
        }
    }
    let criteria = criteria(&mut check, body);
    check.finish()?;
    match (start, end, start_row, end_row) {
        (Some(start), Some(end), Some(first), Some(last)) => Ok(Query {
            minimal,
            start,
            end,
            start_row: usize::try_from(first).unwrap_or(1),
            end_row: usize::try_from(last).unwrap_or(1),
            criteria,
        }),
        // Each missing member was a detail above.
        _ => Err(ApiError::invalid_field("body", "Incomplete search query")),
    }
}

fn date(
    check: &mut Check,
    body: &Map<String, Value>,
    key: &str,
) -> Option<time::PrimitiveDateTime> {
    let text = check.string(body, key, key, true, 19)?;
    let parsed = time::PrimitiveDateTime::parse(&text, DATE).ok();
    if parsed.is_none() {
        check.fail(key, "Must be a date like 2015-04-22T10:03:19");
    }
    parsed
}

/// An integer member sent as a number or as its digits (Bambora's examples quote them).
fn whole(check: &mut Check, body: &Map<String, Value>, key: &str) -> Option<i64> {
    let value = match body.get(key) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        None | Some(Value::Null) => {
            check.fail(key, "This field is required");
            return None;
        }
        Some(_) => None,
    };
    if value.is_none() {
        check.fail(key, "Must be an integer");
    }
    value
}

fn criteria(check: &mut Check, body: &Map<String, Value>) -> Vec<Criterion> {
    let items = match body.get("criteria") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        // The PHP SDK's example sends one criterion as an object.
        Some(item @ Value::Object(_)) => std::slice::from_ref(item),
        Some(_) => {
            check.fail("criteria", "Must be an array");
            return Vec::new();
        }
    };
    let mut criteria = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("criteria[{i}]");
        let Value::Object(item) = item else {
            check.fail(&path, "Must be an object");
            continue;
        };
        let field = match whole(check, item, "field") {
            Some(1) => Some(Field::TransactionId),
            Some(2) => Some(Field::Amount),
            Some(5) => Some(Field::OrderNumber),
            Some(10) => Some(Field::Response),
            Some(_) => {
                check.fail(
                    &format!("{path}.field"),
                    "The sandbox searches fields 1, 2, 5 and 10 only",
                );
                None
            }
            None => None,
        };
        let operator = match item.get("operator").and_then(Value::as_str) {
            Some("%3D") => Some(Operator::Equals),
            Some("%3C") => Some(Operator::Less),
            Some("%3E") => Some(Operator::Greater),
            Some("%3C%3D") => Some(Operator::LessOrEqual),
            Some("%3E%3D") => Some(Operator::GreaterOrEqual),
            Some("START%20WITH") => Some(Operator::StartsWith),
            _ => {
                check.fail(
                    &format!("{path}.operator"),
                    "Must be one of %3D %3C %3E %3C%3D %3E%3D START%20WITH",
                );
                None
            }
        };
        let value = match item.get("value") {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => {
                check.fail(&format!("{path}.value"), "This field is required");
                None
            }
        };
        if let (Some(field), Some(operator), Some(value)) = (field, operator, value) {
            if field.is_numeric() && operator.is_ordering() && number(field, &value).is_none() {
                check.fail(&format!("{path}.value"), "Must be a number for this field");
                continue;
            }
            criteria.push(Criterion {
                field,
                operator,
                value,
            });
        }
    }
    criteria
}

impl Field {
    fn is_numeric(self) -> bool {
        !matches!(self, Field::OrderNumber)
    }
}

impl Operator {
    fn is_ordering(self) -> bool {
        !matches!(self, Operator::StartsWith)
    }
}

/// A numeric criterion value: amounts in cents, the rest as integers.
fn number(field: Field, text: &str) -> Option<i64> {
    let text = text.trim();
    match field {
        Field::Amount => {
            let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
            let fraction = fraction.trim_end_matches('0');
            if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
            units
                .parse::<i64>()
                .ok()?
                .checked_mul(100)?
                .checked_add(cents)
        }
        _ => text.parse().ok(),
    }
}

impl Criterion {
    fn holds(&self, transaction: &Transaction) -> bool {
        let payment = &transaction.payment;
        let (text, numeric) = match self.field {
            Field::TransactionId => (payment.id.clone(), payment.id.parse().ok()),
            Field::Amount => (format!("{:.2}", payment.amount), Some(transaction.cents)),
            Field::OrderNumber => (payment.order_number.clone(), None),
            Field::Response => {
                let response = i64::from(transaction.approved());
                (response.to_string(), Some(response))
            }
        };
        let ordering = if self.field.is_numeric() {
            numeric
                .zip(number(self.field, &self.value))
                .map(|(have, want)| have.cmp(&want))
        } else {
            Some(text.as_str().cmp(self.value.as_str()))
        };
        match (self.operator, ordering) {
            (Operator::StartsWith, _) => text.starts_with(self.value.as_str()),
            (_, None) => false,
            (Operator::Equals, Some(o)) => o.is_eq(),
            (Operator::Less, Some(o)) => o.is_lt(),
            (Operator::Greater, Some(o)) => o.is_gt(),
            (Operator::LessOrEqual, Some(o)) => o.is_le(),
            (Operator::GreaterOrEqual, Some(o)) => o.is_ge(),
        }
    }
}

impl Transaction {
    fn approved(&self) -> u8 {
        u8::from(self.payment.approved == "1")
    }

    fn created(&self) -> Option<time::PrimitiveDateTime> {
        time::PrimitiveDateTime::parse(&self.payment.created, DATE).ok()
    }

    fn record(&self, row_id: usize, minimal: bool) -> Record {
        let payment = &self.payment;
        Record {
            row_id,
            trn_id: payment.id.parse().unwrap_or_default(),
            trn_date_time: format!("{}.000+00:00", payment.created),
            trn_type: payment.kind,
            trn_order_number: payment.order_number.clone(),
            trn_payment_method: unless(minimal, payment.payment_method),
            trn_comments: unless(minimal, ""),
            trn_masked_card: self.masked_card.replace('*', "X"),
            trn_amount: payment.amount,
            trn_returns: 0.0,
            trn_completions: 0.0,
            trn_voided: 0,
            trn_response: self.approved(),
            trn_card_type: payment.card.card_type,
            trn_cvd_result: unless(minimal, payment.card.cvd_result),
            trn_cavv_result: payment.card.cavv_result.clone().filter(|_| !minimal),
            message_id: payment.message_id.parse().unwrap_or_default(),
            message_text: payment.message.clone(),
            trn_approval_code: unless(minimal, payment.auth_code.clone()),
            ref1: payment.custom.ref1.clone(),
            ref2: payment.custom.ref2.clone(),
            ref3: payment.custom.ref3.clone(),
            ref4: payment.custom.ref4.clone(),
            ref5: payment.custom.ref5.clone(),
            currency_abbr: unless(minimal, super::CURRENCY),
            merchant_id: unless(minimal, MERCHANT_ID.parse::<u64>().unwrap_or_default()),
            merchant_name: unless(minimal, MERCHANT_NAME),
            entry_method: unless(minimal, "N"),
            authorizing_merchant_id: unless(minimal, payment.authorizing_merchant_id),
        }
    }
}

/// `value`, unless the record is a `TransHistoryMinimal` one.
fn unless<T>(minimal: bool, value: T) -> Option<T> {
    (!minimal).then_some(value)
}

impl Memory {
    /// The transactions created between the query's dates (inclusive) that meet every
    /// criterion, by transaction id, the query's rows of them.
    pub(super) fn search(&self, query: &Query) -> SearchResult {
        let mut found: Vec<&Transaction> = self
            .payments
            .values()
            .filter(|t| {
                t.created()
                    .is_some_and(|created| query.start <= created && created <= query.end)
            })
            .filter(|t| query.criteria.iter().all(|c| c.holds(t)))
            .collect();
        found.sort_by_key(|t| t.payment.id.parse::<u64>().unwrap_or_default());
        let records = found
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i + 1, t))
            .filter(|(row, _)| (query.start_row..=query.end_row).contains(row))
            .map(|(row, t)| t.record(row, query.minimal))
            .collect();
        SearchResult { records }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: Value) -> Result<Query, ApiError> {
        query(body.as_object().expect("an object"))
    }

    #[test]
    fn the_documented_query_reads() {
        let query = read(
            json!({"name": "Search", "start_date": "2012-01-01T01:01:03",
            "end_date": "2014-06-05T16:05:00", "start_row": "1", "end_row": "2",
            "criteria": [{"field": "1", "operator": "%3C%3D", "value": "10000001"}]}),
        )
        .unwrap();
        assert!(!query.minimal);
        assert_eq!((query.start_row, query.end_row), (1, 2));
        assert!(matches!(
            query.criteria[..],
            [Criterion {
                field: Field::TransactionId,
                operator: Operator::LessOrEqual,
                ..
            }]
        ));
        let amount = read(
            json!({"name": "TransHistoryMinimal", "start_date": "2017-01-01T01:01:03",
            "end_date": "2018-06-05T16:05:00", "start_row": 1, "end_row": 1,
            "criteria": [{"field": 2, "operator": "%3D", "value": 100.00}]}),
        )
        .unwrap();
        assert!(amount.minimal);
        assert_eq!(
            number(Field::Amount, &amount.criteria[0].value),
            Some(10_000)
        );
    }

    #[test]
    fn a_bad_query_is_one_400_naming_every_member() {
        let error = read(json!({"name": "Everything", "start_date": "yesterday",
            "start_row": 0, "end_row": 900,
            "criteria": [{"field": 44, "operator": "=", "value": "x"},
                         {"field": 2, "operator": "%3E", "value": "lots"}]}))
        .unwrap_err();
        assert_eq!((error.status.as_u16(), error.body.code), (400, 314));
        let fields: Vec<&str> = error
            .body
            .details
            .iter()
            .map(|d| d.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "start_date",
                "end_date",
                "end_row",
                "criteria[0].field",
                "criteria[0].operator",
                "criteria[1].value"
            ]
        );
    }
}
