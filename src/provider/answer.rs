//! One reading of a provider's answer, for every adapter: the provider found the request
//! out (2xx: its body is the adapter's to parse), refused it (4xx: nothing happened, with
//! the provider's own error when it gave one), or the answer was lost (no answer, a
//! timeout, a 5xx after the host's retries: the provider may or may not have acted).
//! And the results every adapter builds the same way, so the same failure gives the same
//! [`PaymentResult`] whatever the provider.
//!
//! Each adapter brings only what differs: how its error document reads
//! (`ProviderError` out of a body). Pure.

use super::{HttpResponse, TransportFailure};
use crate::payment::{PaymentResult, PaymentStatus, ResultCode};

/// The provider's own words about a refusal or failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub code: String,
    pub message: String,
}

impl ProviderError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ProviderError {
        ProviderError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What an answer means, before the adapter reads its body.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx: the provider did what was asked; the adapter parses the body.
    Found(HttpResponse),
    /// 4xx: the provider refused; nothing happened. `error` is its error document, or
    /// `http_{status}` when it sent none this adapter can read.
    Refused { status: u16, error: ProviderError },
    /// No answer the backend can trust: the provider may or may not have acted.
    Lost(Lost),
}

/// Why an answer was lost.
#[derive(Debug, Clone, PartialEq)]
pub enum Lost {
    /// No answer in time.
    Timeout,
    /// The connection failed or dropped (or the process stopped during the call).
    Connection,
    /// The provider failed (5xx, or a status no provider documents), or did not take the
    /// request this time (429): either way it says nothing of an earlier sending of it.
    Failed { status: u16, error: ProviderError },
}

impl Answer {
    /// Classifies `response`. `error_of` reads the provider's error document from a body
    /// (`None`: not one).
    pub fn of(
        response: Result<HttpResponse, TransportFailure>,
        error_of: impl Fn(&str) -> Option<ProviderError>,
    ) -> Answer {
        let response = match response {
            Ok(response) => response,
            Err(TransportFailure::Timeout) => return Answer::Lost(Lost::Timeout),
            Err(TransportFailure::Connection(_)) => return Answer::Lost(Lost::Connection),
        };
        if response.is_success() {
            return Answer::Found(response);
        }
        let error = error_of(&response.body).unwrap_or_else(|| {
            ProviderError::new(
                format!("http_{}", response.status),
                "the answer carried no error document",
            )
        });
        match response.status {
            // Not taken (a 429 is no refusal): Refused would say nothing happened, which is
            // false when this was a repeat of a sending whose answer was lost: that one may
            // have charged or refunded.
            status if not_taken(status) => Answer::Lost(Lost::Failed { status, error }),
            400..=499 => Answer::Refused {
                status: response.status,
                error,
            },
            status => Answer::Lost(Lost::Failed { status, error }),
        }
    }
}

/// Whether a provider answered `status` without taking the request this time: it failed
/// (5xx) or asked to be called later (429, Too Many Requests). Such an answer says nothing
/// of the request, so it is no refusal ([`Answer::of`]), and the host sends a request that
/// is safe to repeat again.
pub fn not_taken(status: u16) -> bool {
    status >= 500 || status == 429
}

impl Lost {
    /// The result of a call that moved no money and whose answer was lost (a read, a
    /// lookup, an authentication): `error` / `provider_timeout` or `provider_unavailable`.
    pub fn result(&self) -> PaymentResult {
        match self {
            Lost::Timeout => {
                PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderTimeout)
                    .with_provider_error("timeout", "the provider did not answer in time")
            }
            Lost::Connection => {
                PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable)
                    .with_provider_error("no_answer", "the connection to the provider failed")
            }
            Lost::Failed { error, .. } => {
                PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable)
                    .with_provider_error(error.code.clone(), error.message.clone())
            }
        }
    }
}

/// The provider refused the request: `failed` / `provider_rejected`, with its words.
pub fn rejected(error: &ProviderError) -> PaymentResult {
    let code = token_refusal(error).unwrap_or(ResultCode::ProviderRejected);
    PaymentResult::failed(PaymentStatus::Failed, code)
        .with_provider_error(error.code.clone(), error.message.clone())
}

/// A refusal of the page's single-use card token, told by the provider's own words:
/// none of the four gives an expired or spent token a code of its own (each answers its
/// field-validation error naming the token), so the message decides.
fn token_refusal(error: &ProviderError) -> Option<ResultCode> {
    let message = error.message.to_ascii_lowercase();
    // The card's token, not an access or session token of the API.
    let card_token = [
        "single-use token",
        "card token",
        "paymenttoken",
        "card.token",
        "token.code",
        "paymentmethod.token",
    ];
    if !card_token.iter().any(|name| message.contains(name)) {
        return None;
    }
    if message.contains("expired") {
        Some(ResultCode::TokenExpired)
    } else if message.contains("already been used")
        || message.contains("has been used")
        || message.contains("already used")
    {
        Some(ResultCode::TokenUsed)
    } else {
        None
    }
}

/// Refused by the adapter before the provider saw it, because the provider would refuse
/// it (`parameter`: what is wrong).
pub fn rejected_here(parameter: &str, message: &str) -> PaymentResult {
    rejected(&ProviderError::new(parameter, message))
}

/// The provider answered something this backend cannot read (`problem` says what):
/// `error` / `provider_bad_response`.
pub fn bad_response(problem: &str) -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
        .with_provider_error("bad_response", problem)
}

/// A lookup found no payment for the reference that was sent: the money call never
/// reached the provider, so nothing was charged.
pub fn not_found() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Failed, ResultCode::ProviderUnavailable)
        .with_provider_error(
            "not_found",
            "the provider has no payment for this order: nothing was charged",
        )
}

/// Whether `result` is [`not_found`]'s: a lookup that found nothing, which the host
/// believes only once the lost call is old enough (`reconcile.not_found_after_ms`).
pub fn is_not_found(result: &PaymentResult) -> bool {
    *result == not_found()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        let response = HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        };
        Answer::of(Ok(response), |body| {
            body.strip_prefix("E:")
                .map(|code| ProviderError::new(code, "said the provider"))
        })
    }

    #[test]
    fn an_expired_or_spent_token_has_its_own_code() {
        let code = |message: &str| rejected(&ProviderError::new("5068", message)).error;
        let code = |message: &str| code(message).map(|e| e.code);
        assert_eq!(
            code("The single-use token has expired"),
            Some(ResultCode::TokenExpired)
        );
        assert_eq!(
            code("the single-use token has been used"),
            Some(ResultCode::TokenUsed)
        );
        assert_eq!(
            code("The card token has already been used"),
            Some(ResultCode::TokenUsed)
        );
        assert_eq!(
            code("The card has expired"),
            Some(ResultCode::ProviderRejected)
        );
        assert_eq!(code("Invalid token"), Some(ResultCode::ProviderRejected));
        assert_eq!(
            code("The access token has expired"),
            Some(ResultCode::ProviderRejected)
        );
        assert_eq!(
            code("Field error(s) (card.paymentToken: has expired)"),
            Some(ResultCode::TokenExpired)
        );
    }

    #[test]
    fn success_is_found_with_its_body() {
        assert!(matches!(answer(201, "{}"), Answer::Found(r) if r.body == "{}"));
    }

    #[test]
    fn a_4xx_is_refused_with_the_providers_words_or_the_status() {
        let Answer::Refused { status, error } = answer(402, "E:card_declined") else {
            panic!("not refused")
        };
        assert_eq!((status, error.code.as_str()), (402, "card_declined"));
        let Answer::Refused { error, .. } = answer(400, "<html>") else {
            panic!("not refused")
        };
        assert_eq!(error.code, "http_400");
        assert_eq!(
            rejected(&error).error.unwrap().code,
            ResultCode::ProviderRejected
        );
    }

    #[test]
    fn a_5xx_or_no_answer_is_lost_and_keeps_the_providers_words() {
        let Answer::Lost(lost) = answer(503, "E:maintenance") else {
            panic!("not lost")
        };
        let result = lost.result();
        assert_eq!(result.status, PaymentStatus::Error);
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderUnavailable);
        assert_eq!(error.provider_code.as_deref(), Some("maintenance"));
        let timeout = Answer::of(Err(TransportFailure::Timeout), |_| None);
        assert_eq!(timeout, Answer::Lost(Lost::Timeout));
        let dropped = Answer::of(Err(TransportFailure::Connection("reset".into())), |_| None);
        assert_eq!(dropped, Answer::Lost(Lost::Connection));
    }

    #[test]
    fn a_429_is_lost_not_refused() {
        // The one 4xx that is not the provider's word on the request: it was not taken.
        let Answer::Lost(Lost::Failed { status, error }) = answer(429, "E:6000") else {
            panic!("a 429 read as an answer")
        };
        assert_eq!((status, error.code.as_str()), (429, "6000"));
        assert!(matches!(
            answer(428, "E:x"),
            Answer::Refused { status: 428, .. }
        ));
    }

    #[test]
    fn what_the_host_sends_again_is_what_the_reading_calls_lost() {
        // One rule for the host's resends and this reading: what is sent again is what
        // reads as lost, but for a 1xx or 3xx, which a resend would only repeat.
        for status in 100..=599 {
            let lost = matches!(answer(status, ""), Answer::Lost(_));
            let interim_or_redirect = status < 200 || (300..400).contains(&status);
            assert_eq!(
                not_taken(status),
                lost && !interim_or_redirect,
                "status {status}"
            );
        }
    }
}
