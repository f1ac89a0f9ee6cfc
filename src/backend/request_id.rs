//! The id every log line of one request carries, echoed as `X-Request-Id`: the client's
//! own when it is sane (a proxy's or a load balancer's), else the trace id of a W3C
//! `traceparent`, else a fresh one. Anything else a client sends is not trusted into a
//! log line: too long, or with characters a log parser would trip on, it is replaced.

use super::host::{random_hex, Env};
use super::http::Request;
use crate::emv::card::luhn_valid;

/// The header a request id comes in and goes back out in.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The longest client request id kept (a UUID is 36, a trace id 32).
const MAX_LEN: usize = 64;

/// What identifies one request in the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: String,
    /// The trace id of a valid `traceparent`, when the request had one.
    pub trace_id: Option<String>,
}

impl RequestIds {
    pub fn of(request: &Request, env: &impl Env) -> RequestIds {
        let trace_id = request.header("traceparent").and_then(trace_id);
        let request_id = request
            .header(REQUEST_ID_HEADER)
            .filter(|id| sane(id))
            .map(str::to_owned)
            .or_else(|| trace_id.clone())
            .unwrap_or_else(|| random_hex(env));
        RequestIds {
            request_id,
            trace_id,
        }
    }
}

/// Letters, digits and `-_.:`; 1 to 64 of them; and nothing that reads as a card number.
fn sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && !holds_a_card_number(id)
}

/// Whether `text` has 13 to 19 digits in a row that pass the Luhn check, anywhere in a
/// longer run too: an id is logged on every line of its request, so a PAN sent as one (by
/// mistake or on purpose) must not be kept. A UUID (digit runs of at most 12) never trips
/// it; a random trace id seldom does (it needs 13 digits in a row first), and then the
/// request gets a fresh id.
///
/// A card number written in groups counts too (`4111-1111-1111-1111`, `3782 822463 10005`,
/// with `-`, `.`, `:` or spaces between): groups of 3 to 6 digits in a row are read whole
/// (a card number written in groups starts and ends at a group's edge). A UUID's groups
/// hold letters, or 12 digits, so it still never trips it.
pub(crate) fn holds_a_card_number(text: &str) -> bool {
    let in_a_row = text.split(|c: char| !c.is_ascii_digit()).any(|run| {
        (13..=19).any(|len| {
            run.len() >= len && (0..=run.len() - len).any(|at| luhn_valid(&run[at..at + len]))
        })
    });
    in_a_row || in_groups(text)
}

/// Whether `text` has groups of 3 to 6 digits, one separator apart, some of whose
/// consecutive groups (13 to 19 digits together, from one group's start to a later one's
/// end) pass the Luhn check: a card number with a group before or after it is still
/// found. A group of another size, or any other character, ends a run.
fn in_groups(text: &str) -> bool {
    // The run's digits, and where each of its groups starts among them.
    let (mut digits, mut starts, mut group) = (String::new(), Vec::new(), 0);
    for c in text.chars().chain([',']) {
        if c.is_ascii_digit() {
            digits.push(c);
            group += 1;
            continue;
        }
        let grouped = (3..=6).contains(&group);
        if grouped {
            starts.push(digits.len() - group);
        } else {
            digits.truncate(digits.len() - group);
        }
        if !grouped || !matches!(c, '-' | '.' | ':' | ' ') {
            if groups_hold_a_card(&digits, &starts) {
                return true;
            }
            digits.clear();
            starts.clear();
        }
        group = 0;
    }
    false
}

/// Whether some of the consecutive groups of `digits` (starting at `starts`) are 13 to 19
/// digits that pass the Luhn check.
fn groups_hold_a_card(digits: &str, starts: &[usize]) -> bool {
    let ends = || starts.iter().skip(1).copied().chain([digits.len()]);
    starts.iter().enumerate().any(|(first, &from)| {
        ends()
            .skip(first)
            .any(|to| (13..=19).contains(&(to - from)) && luhn_valid(&digits[from..to]))
    })
}

/// The trace id of `version-traceid-parentid-flags` (W3C Trace Context §3.2): 32 lowercase
/// hex digits, not all zero.
fn trace_id(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    (valid && !holds_a_card_number(trace)).then(|| trace.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::http::Method;

    struct Fixed;

    impl Env for Fixed {
        fn now_ms(&self) -> u64 {
            0
        }
        fn random_u128(&self) -> u128 {
            0xabc
        }
        async fn sleep(&self, _: u64) {}
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        Request {
            method: Method::Get,
            path: "/healthz".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
            peer_ip: None,
        }
    }

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_sane_client_id_is_kept() {
        let ids = RequestIds::of(&request(&[("x-request-id", "lb-7f3a.42")]), &Fixed);
        assert_eq!(ids.request_id, "lb-7f3a.42");
    }

    #[test]
    fn a_traceparent_gives_the_id_when_the_client_sent_none() {
        let ids = RequestIds::of(&request(&[("traceparent", PARENT)]), &Fixed);
        assert_eq!(ids.request_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ids.trace_id.as_deref(), Some(ids.request_id.as_str()));
        let both = RequestIds::of(
            &request(&[("traceparent", PARENT), ("X-Request-Id", "mine")]),
            &Fixed,
        );
        assert_eq!(both.request_id, "mine");
        assert_eq!(
            both.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn an_id_that_reads_as_a_card_number_is_never_kept() {
        for (name, value) in [
            ("X-Request-Id", "4000000000001000"),
            ("X-Request-Id", "order-4111111111111111-x"),
            ("X-Request-Id", "4111-1111-1111-1111"),
            ("X-Request-Id", "x.4111.1111.1111.1111.y"),
            // A group more after it, or before it: the card is some of the groups.
            ("X-Request-Id", "4111-1111-1111-1111-1111"),
            ("X-Request-Id", "123-4111-1111-1111-1111"),
            ("X-Request-Id", "9999.3782.822463.10005.123"),
            (
                "traceparent",
                "00-00000000000000004000000000001000-00f067aa0ba902b7-01",
            ),
        ] {
            let ids = RequestIds::of(&request(&[(name, value)]), &Fixed);
            assert_ne!(ids.request_id, value, "replaced");
            assert!(!ids.request_id.contains("4000000000001000"), "{value}");
            assert!(!ids.request_id.contains("4111111111111111"), "{value}");
            assert_eq!(ids.trace_id, None, "{value}");
        }
        // Written in groups, an American Express number too (4-6-5).
        assert!(holds_a_card_number("3782 822463 10005"));
        assert!(holds_a_card_number("GET:4111:1111:1111:1111"));
        // Runs of up to 12 digits, as in a UUID, are ordinary ids; so are dates and groups
        // whose digits pass no Luhn check.
        for kept in [
            "400000000000",
            "123e4567-e89b-12d3-a456-426614174000",
            "00000000-0000-4000-8000-426614174000",
            "2026-12-06-1234",
            "4111-1111-1111-1112",
        ] {
            let ids = RequestIds::of(&request(&[("X-Request-Id", kept)]), &Fixed);
            assert_eq!(ids.request_id, kept);
        }
    }

    #[test]
    fn hostile_or_broken_ids_are_replaced() {
        for (name, value) in [
            ("X-Request-Id", "a b"),
            ("X-Request-Id", "\"}{\"level\":\"ERROR"),
            ("X-Request-Id", &"x".repeat(65)),
            ("X-Request-Id", ""),
            (
                "traceparent",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            ),
            (
                "traceparent",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            ),
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-01"),
        ] {
            let ids = RequestIds::of(&request(&[(name, value)]), &Fixed);
            assert_eq!(ids.request_id, format!("{:032x}", 0xabc), "{name}: {value}");
            assert_eq!(ids.trace_id, None, "{name}: {value}");
        }
    }
}
