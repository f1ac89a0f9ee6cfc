//! Payroc's requests, built from the stored state alone: the tokenization (the one that
//! carries the card), the sale, the lookup's pages of Payroc's payments list, and the
//! browser's step to the hosted MPI page. Each POST carries an Idempotency-Key derived
//! from its step, so the host may send it again.

use serde::Serialize;

use super::state::{ApiCall, Evidence, MpiRequest, Order, Sale};
use super::{wire, Config, PayrocAdapter};
use crate::emv::{FormField, FormMethod, FormPost};
use crate::payment::{
    BrowserAction, CaptureMode, CardDetails, PaymentResult, PaymentStatus, ResultCode,
};
use crate::provider::{answer, Context, HttpRequest};

impl PayrocAdapter {
    /// The tokenization of `card`: the one request that carries it. Payroc deduplicates
    /// its Idempotency-Key, so the host may repeat it (with the card it still holds).
    pub(super) fn tokenize_request(
        &self,
        card: &CardDetails,
        bearer: &str,
        cx: &Context,
    ) -> Result<HttpRequest, PaymentResult> {
        let path = format!(
            "/processing-terminals/{}/single-use-tokens",
            self.config.processing_terminal_id
        );
        let body = to_json(&wire::TokenRequest::keyed(card))?;
        Ok(self.post(
            &path,
            body,
            "single-use-token",
            "payroc.single_use_token",
            bearer,
            cx,
        ))
    }

    /// A call this adapter can make from the stored state alone (the sale, a lookup).
    pub(super) fn api_request(
        &self,
        call: &ApiCall,
        bearer: &str,
        cx: &Context,
    ) -> Result<HttpRequest, PaymentResult> {
        match call {
            // The card was never kept: the tokenization cannot be made again.
            ApiCall::Tokenize { .. } => Err(card_not_kept()),
            ApiCall::Sale(sale) => {
                let body = to_json(&self.sale_body(sale))?;
                Ok(self.post(
                    "/payments",
                    body,
                    &sale_step(sale),
                    "payroc.sale",
                    bearer,
                    cx,
                ))
            }
            ApiCall::Lookup(lookup) => {
                let url =
                    (lookup.next.clone()).unwrap_or_else(|| self.lookup_url(&lookup.sale.order));
                Ok(HttpRequest::get(url, "payroc.lookup")
                    .header("Authorization", format!("Bearer {bearer}"))
                    // A read: asking twice is harmless.
                    .retry_safe())
            }
        }
    }

    /// A POST with a JSON body, a Bearer and an Idempotency-Key derived from `step`,
    /// which Payroc deduplicates (same key and body → the first answer again), so the
    /// host may repeat it.
    fn post(
        &self,
        path: &str,
        body: String,
        step: &str,
        purpose: &'static str,
        bearer: &str,
        cx: &Context,
    ) -> HttpRequest {
        HttpRequest::post_json(Config::url(&self.config.api_url, path), body, purpose)
            .header("Authorization", format!("Bearer {bearer}"))
            .header("Idempotency-Key", cx.idempotency_key(step))
            .retry_safe()
    }

    /// The first page of Payroc's payments list for `order` on this terminal.
    fn lookup_url(&self, order: &Order) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("processingTerminalId", &self.config.processing_terminal_id)
            .append_pair("orderId", &order.order_id)
            .finish();
        format!("{}?{query}", Config::url(&self.config.api_url, "/payments"))
    }

    /// The next page a list page links to, if it is a page of this API's payments list
    /// (the Bearer goes nowhere else).
    pub(super) fn next_page(&self, page: &wire::PaymentPage) -> Option<String> {
        let list = format!("{}?", Config::url(&self.config.api_url, "/payments"));
        let next = &page.links.iter().find(|link| link.rel == "next")?.href;
        let plain = !next
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
        (next.starts_with(&list) && plain).then(|| next.clone())
    }

    fn sale_body<'a>(&'a self, sale: &'a Sale) -> wire::SaleRequest<'a> {
        let three_d_secure = match &sale.evidence {
            Evidence::Gateway { mpi_reference, .. } => {
                wire::ThreeDSecure::Gateway { mpi_reference }
            }
            Evidence::ThirdParty(third) => wire::ThreeDSecure::ThirdParty {
                eci: third.eci_word.as_str(),
                cavv: &third.cavv,
                xid: third.xid.as_deref(),
                ds_transaction_id: third.ds_transaction_id.as_deref(),
            },
        };
        wire::SaleRequest {
            channel: "web",
            processing_terminal_id: &self.config.processing_terminal_id,
            order: wire::SaleOrder {
                order_id: &sale.order.order_id,
                amount: sale.order.amount,
                currency: &sale.order.currency,
                description: sale.order.description.as_deref(),
            },
            payment_method: wire::SalePaymentMethod {
                method_type: "singleUseToken",
                token: &sale.token,
            },
            three_d_secure,
            auto_capture: sale.order.capture_mode == CaptureMode::Automatic,
        }
    }

    /// The browser step to Payroc's hosted MPI page: a full-page GET whatever the
    /// display mode (Payroc's page is not made for a challenge iframe of ours).
    pub(super) fn mpi_action(&self, mpi: &MpiRequest) -> BrowserAction {
        let field = |name: &str, value: String| FormField {
            name: name.to_owned(),
            value,
        };
        BrowserAction::Redirect {
            form: FormPost {
                action: Config::url(&self.config.payments_url, "/merchant/mpi"),
                method: FormMethod::Get,
                fields: vec![
                    field(
                        "processingTerminalId",
                        self.config.processing_terminal_id.clone(),
                    ),
                    field("singleUseToken", mpi.token.clone()),
                    field("email", mpi.email.clone()),
                    field("amount", mpi.order.amount.to_string()),
                    field("currency", mpi.order.currency.to_string()),
                    field("orderId", mpi.order.order_id.to_string()),
                    field("cardholderChallenge", mpi.challenge.as_str().to_owned()),
                ],
            },
        }
    }
}

/// The step a sale's Idempotency-Key is derived from: one key per sale attempt, the
/// attempt being one more than the receipts Payroc refused before it (`sale`, then
/// `sale-2`, `sale-3`, …). Every send of one attempt (the host's retries; the attempt built
/// again from the stored state by any process) repeats its key and byte-identical body, so
/// Payroc answers it once. A new attempt only follows a refused reference, which Payroc
/// did nothing for and which is never sent again (it is in `refused`); it needs a new key
/// because Payroc refuses a key reused with another body (409 `idempotency-key-in-use`).
/// Two receipts racing for one attempt cannot both send: the store's compare-and-set lets
/// one drive on. The single-use token is the last guard: Payroc spends it on the first
/// sale it makes.
fn sale_step(sale: &Sale) -> String {
    match &sale.evidence {
        Evidence::Gateway {
            wait: Some(wait), ..
        } if !wait.refused.is_empty() => format!("sale-{}", wait.refused.len() + 1),
        _ => "sale".to_owned(),
    }
}

/// A tokenization to make again from a stored state (stored by a version that kept the
/// card in memory): the card is gone, nothing was charged.
fn card_not_kept() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable)
        .with_provider_error(
            "card_not_kept",
            "the card details were not kept past the start request, so the tokenization cannot be made again",
        )
}

fn to_json<T: Serialize>(value: &T) -> Result<String, PaymentResult> {
    serde_json::to_string(value)
        .map_err(|_| answer::bad_response("a Payroc request body could not be written"))
}
