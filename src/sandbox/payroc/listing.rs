//! `GET /v1/payments`: the payments of the API key's terminals, filtered by the query (the
//! SDK's `card_payments.payments.list`) and cut into pages by Payroc's cursor pagination
//! (docs.payroc.com/api/pagination, payroc/skills `pagination.md`): `limit` (default 10),
//! `after` or `before` a paymentId, and the envelope `{limit, count, hasMore, links, data}`.
//! Payments are listed in the order the sandbox made them, oldest first.

use axum::extract::{RawQuery, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::problem::{Problem, ProblemError, Reply};
use super::wire::{Link, Payment, PaymentList, TransactionStatus, TransactionType};
use super::{authenticate, known_terminal, lock, Caller, Sandbox};

/// Page size when the query names none (docs.payroc.com/api/pagination).
pub const DEFAULT_LIMIT: usize = 10;
/// The largest page the sandbox serves (Payroc documents no maximum).
pub const MAX_LIMIT: usize = 100;

/// Filters the SDK documents that the sandbox has no data for: refused, not ignored, so a
/// caller never takes an unfiltered list for a filtered one.
const UNSUPPORTED: [&str; 5] = [
    "tender",
    "tipMode",
    "settlementState",
    "settlementDate",
    "paymentLinkId",
];

/// What a payment must be to be listed.
#[derive(Debug, Default)]
struct Filter {
    terminal: Option<String>,
    order_id: Option<String>,
    operator: Option<String>,
    cardholder_name: Option<String>,
    first6: Option<String>,
    last4: Option<String>,
    types: Vec<TransactionType>,
    statuses: Vec<TransactionStatus>,
    date_from: Option<OffsetDateTime>,
    date_to: Option<OffsetDateTime>,
}

/// Where the page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    First,
    After(String),
    Before(String),
}

#[derive(Debug)]
struct ListQuery {
    filter: Filter,
    cursor: Cursor,
    limit: usize,
    /// The filter's own query pairs and the limit, in order, for the links.
    kept: Vec<(String, String)>,
}

pub(super) async fn list(
    Extract(sandbox): Extract<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(problem) = authenticate(&sandbox, &headers, Caller::Server) {
        return problem.into_response();
    }
    let query = match ListQuery::parse(query.as_deref().unwrap_or_default()) {
        Ok(query) => query,
        Err(problem) => return problem.into_response(),
    };
    if let Some(terminal) = &query.filter.terminal {
        if !known_terminal(&sandbox, terminal) {
            return Problem::forbidden(
                "processingTerminal",
                format!("The API key has no access to processing terminal {terminal}"),
            )
            .into_response();
        }
    }
    let payments = lock(&sandbox.payroc.payments);
    match page(&sandbox, &query, &payments) {
        Ok(list) => Reply::json(StatusCode::OK, &list).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// The page `query` asks for out of `payments` (every payment, oldest first).
fn page(
    sandbox: &Sandbox,
    query: &ListQuery,
    payments: &[Payment],
) -> Result<PaymentList, Problem> {
    // Positions in `payments` of the payments the filter admits.
    let admitted: Vec<usize> = (0..payments.len())
        .filter(|&i| query.filter.admits(&payments[i]))
        .collect();
    let position = |parameter: &str, id: &str| {
        payments
            .iter()
            .position(|p| p.payment_id == id)
            .ok_or_else(|| {
                Problem::invalid(
                    parameter,
                    "Invalid value",
                    format!("No payment has the id {id}"),
                )
            })
    };
    let (start, end) = match &query.cursor {
        Cursor::First => (0, admitted.len().min(query.limit)),
        Cursor::After(id) => {
            let at = position("after", id)?;
            let start = admitted.partition_point(|&i| i <= at);
            (start, admitted.len().min(start + query.limit))
        }
        Cursor::Before(id) => {
            let at = position("before", id)?;
            let end = admitted.partition_point(|&i| i < at);
            (end.saturating_sub(query.limit), end)
        }
    };
    let shown = &admitted[start..end];
    let (earlier, later) = (start > 0, end < admitted.len());
    let mut links = Vec::new();
    if let (Some(&first), Some(&last)) = (shown.first(), shown.last()) {
        if later {
            links.push(query.link(sandbox, "next", "after", &payments[last].payment_id));
        }
        if earlier {
            links.push(query.link(sandbox, "previous", "before", &payments[first].payment_id));
        }
    }
    Ok(PaymentList {
        limit: query.limit as u64,
        count: shown.len() as u64,
        has_more: match query.cursor {
            Cursor::Before(_) => earlier,
            _ => later,
        },
        links,
        data: shown.iter().map(|&i| payments[i].clone()).collect(),
    })
}

impl Filter {
    fn admits(&self, payment: &Payment) -> bool {
        let same = |wanted: &Option<String>, actual: Option<&str>| {
            wanted.as_deref().is_none_or(|w| actual == Some(w))
        };
        let card = &payment.card.card_number;
        let processed = OffsetDateTime::parse(&payment.order.date_time, &Rfc3339).ok();
        same(&self.terminal, Some(&payment.processing_terminal_id))
            && same(&self.order_id, Some(&payment.order.order_id))
            && same(&self.operator, payment.operator.as_deref())
            && self.cardholder_name.as_deref().is_none_or(|wanted| {
                payment
                    .card
                    .cardholder_name
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
            })
            && same(&self.first6, card.get(..6))
            && same(&self.last4, card.get(card.len().saturating_sub(4)..))
            && (self.types.is_empty()
                || self
                    .types
                    .contains(&payment.transaction_result.transaction_type))
            && (self.statuses.is_empty()
                || self.statuses.contains(&payment.transaction_result.status))
            && self
                .date_from
                .is_none_or(|from| processed.is_some_and(|at| at >= from))
            && self
                .date_to
                .is_none_or(|to| processed.is_some_and(|at| at <= to))
    }
}

impl ListQuery {
    /// Reads the query string; every bad parameter is one `errors[]` entry of a 400.
    fn parse(query: &str) -> Result<ListQuery, Problem> {
        let mut errors = Vec::new();
        let mut filter = Filter::default();
        let mut kept = Vec::new();
        let (mut after, mut before, mut limit) = (None, None, None);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        for (index, (name, value)) in pairs.iter().enumerate() {
            let listed = matches!(name.as_str(), "type" | "status");
            if !listed && pairs[..index].iter().any(|(n, _)| n == name) {
                errors.push(invalid(
                    name,
                    format!("The '{name}' parameter may appear once"),
                ));
                continue;
            }
            if value.is_empty() {
                errors.push(invalid(
                    name,
                    format!("The '{name}' parameter has no value"),
                ));
                continue;
            }
            let text = || Some(value.clone());
            match name.as_str() {
                "processingTerminalId" => filter.terminal = text(),
                "orderId" => filter.order_id = text(),
                "operator" => filter.operator = text(),
                "cardholderName" => filter.cardholder_name = text(),
                "first6" | "last4" => {
                    let digits = if name == "first6" { 6 } else { 4 };
                    if value.len() != digits || !value.bytes().all(|b| b.is_ascii_digit()) {
                        errors.push(invalid(
                            name,
                            format!("The '{name}' parameter must be {digits} digits"),
                        ));
                    } else if digits == 6 {
                        filter.first6 = text();
                    } else {
                        filter.last4 = text();
                    }
                }
                "type" => match word::<TransactionType>(value) {
                    Some(t) if t != TransactionType::Refund => filter.types.push(t),
                    _ => errors.push(invalid(
                        name,
                        "The 'type' parameter must be one of sale, preAuthorization, preAuthorizationCompletion",
                    )),
                },
                "status" => match word::<TransactionStatus>(value) {
                    Some(s) => filter.statuses.push(s),
                    None => errors.push(invalid(
                        name,
                        "The 'status' parameter must be one of ready, pending, declined, complete, referral, pickup, reversal, admin, expired, accepted",
                    )),
                },
                "dateFrom" | "dateTo" => match OffsetDateTime::parse(value, &Rfc3339) {
                    Ok(at) if name == "dateFrom" => filter.date_from = Some(at),
                    Ok(at) => filter.date_to = Some(at),
                    Err(_) => errors.push(ProblemError::new(
                        name,
                        "Invalid format",
                        format!("The '{name}' parameter must be an ISO 8601 date and time, for example 2024-07-02T15:30:00Z"),
                    )),
                },
                "after" => after = text(),
                "before" => before = text(),
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = Some(n),
                    _ => errors.push(ProblemError::new(
                        name,
                        "Invalid format",
                        format!("The 'limit' parameter must be an integer from 1 to {MAX_LIMIT}"),
                    )),
                },
                other if UNSUPPORTED.contains(&other) => errors.push(invalid(
                    other,
                    format!("The sandbox has no data to filter by '{other}'"),
                )),
                other => errors.push(invalid(
                    other,
                    format!("'{other}' is not a parameter of this endpoint"),
                )),
            }
            if !matches!(name.as_str(), "after" | "before") {
                kept.push((name.clone(), value.clone()));
            }
        }
        if after.is_some() && before.is_some() {
            errors.push(invalid(
                "before",
                "You can't send the before parameter in the same request as the after parameter",
            ));
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let cursor = match (after, before) {
            (Some(id), _) => Cursor::After(id),
            (_, Some(id)) => Cursor::Before(id),
            _ => Cursor::First,
        };
        Ok(ListQuery {
            filter,
            cursor,
            limit: limit.unwrap_or(DEFAULT_LIMIT),
            kept,
        })
    }

    /// The link to the page `rel` (`after` or `before` the payment `id`), with this
    /// query's filters and limit.
    fn link(&self, sandbox: &Sandbox, rel: &str, cursor: &str, id: &str) -> Link {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.kept {
            query.append_pair(name, value);
        }
        query.append_pair(cursor, id);
        Link {
            rel: rel.to_owned(),
            method: "get".to_owned(),
            href: sandbox.public_url(&format!("/payroc/api/v1/payments?{}", query.finish())),
        }
    }
}

fn invalid(parameter: &str, message: impl Into<String>) -> ProblemError {
    ProblemError::new(parameter, "Invalid value", message)
}

/// A query value read as one of Payroc's enum words (`preAuthorization`, `ready`, …).
fn word<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_parameters(query: &str) -> Vec<String> {
        ListQuery::parse(query)
            .err()
            .and_then(|p| p.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.parameter)
            .collect()
    }

    #[test]
    fn the_documented_parameters_read() {
        let query = ListQuery::parse(
            "processingTerminalId=4479001&orderId=OrderRef%206543&type=sale&type=preAuthorization\
             &status=ready&dateFrom=2024-07-01T00:00:00Z&limit=2&after=E29U8OU8Q4",
        )
        .unwrap();
        assert_eq!(query.filter.order_id.as_deref(), Some("OrderRef 6543"));
        assert_eq!(query.filter.types.len(), 2);
        assert_eq!(query.limit, 2);
        assert_eq!(query.cursor, Cursor::After("E29U8OU8Q4".into()));
        assert!(query.kept.iter().all(|(name, _)| name != "after"));
        assert_eq!(ListQuery::parse("").unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(problem_parameters("after=A&before=B"), ["before"]);
        assert_eq!(problem_parameters("limit=0&limit=5"), ["limit", "limit"]);
        assert_eq!(problem_parameters("type=sale&type=refund"), ["type"]);
        assert_eq!(problem_parameters("limit=101"), ["limit"]);
        assert_eq!(problem_parameters("orderId=a&orderId=b"), ["orderId"]);
        assert_eq!(problem_parameters("orderId="), ["orderId"]);
        assert_eq!(
            problem_parameters("first6=4000&last4=x"),
            ["first6", "last4"]
        );
        assert_eq!(
            problem_parameters("type=return&status=done"),
            ["type", "status"]
        );
        assert_eq!(problem_parameters("dateTo=yesterday"), ["dateTo"]);
        assert_eq!(
            problem_parameters("tender=ebt&sort=asc"),
            ["tender", "sort"]
        );
    }
}
