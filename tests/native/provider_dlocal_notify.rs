//! dLocal's notifications against the sandbox over real HTTP, to a tiny receiver started
//! here: a notification finishes a payment whose browser never returns, and the callback and
//! the notification in either order give one result and one charge (the helpers are
//! provider_dlocal.rs's).

use crate::support;

use std::time::Duration;

use axum::http::HeaderMap;
use threeds_bridge::payment::{PaymentStart, PaymentStatus, ProviderKind};
use threeds_bridge::provider::dlocal::{verify_notification, Config, DlocalAdapter, State};
use threeds_bridge::provider::{Adapter, Notification, Step};
use threeds_bridge::session::{AdapterState, Phase, Session};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::SessionStore;
use tokio::sync::mpsc;

use crate::provider_dlocal::{assert_ledger, eci, finish, session_id, start, to_redirect};
use support::flow::{self, Cardholder};

/// A webhook receiver on a free port: every notification it gets goes to the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Notification>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/v1/webhooks/dlocal",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let headers = headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let _ = tx.send(Notification { headers, body });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/v1/webhooks/dlocal",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// The next notification whose payment is no longer pending.
async fn final_notification(
    config: &Config,
    rx: &mut mpsc::UnboundedReceiver<Notification>,
) -> Notification {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a notification within 10 s")
            .expect("receiver open");
        let hint = verify_notification(config, &n).expect("a genuine notification");
        if hint.status != "PENDING" {
            return n;
        }
    }
}

#[tokio::test]
async fn a_notification_finishes_the_payment_when_the_browser_never_returns() {
    let sb = support::sandbox().await;
    let (url, mut rx) = receiver().await;
    let mut config = Config::sandbox(&sb.url);
    config.notification_url = Some(url);
    let adapter = DlocalAdapter::new(config.clone());
    let sid = session_id();
    let start = start("4000000000002008");
    let (state, form) = to_redirect(&adapter, &start, &sid).await;
    // The cardholder passes the challenge, then closes the tab before the callback.
    let _abandoned = flow::follow((&form).into(), Cardholder::Types("1234")).await;

    let notification = final_notification(&config, &mut rx).await;
    let hint = verify_notification(&config, &notification).expect("verified");
    assert_eq!(hint.order_id.as_deref(), Some(start.order_id.as_str()));
    let step = adapter
        .on_notification(state, &notification, &flow::context(&sid))
        .expect("a final notification for this session re-reads the payment");
    let result = finish(&adapter, step, &sid).await;
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.eci, eci("05"));
    assert_ledger(&sb, &result, &start.order_id);
}

fn session(sid: &str, start: &PaymentStart, state: &State) -> Session {
    Session {
        id: sid.to_owned(),
        nonce: "nonce".into(),
        client_secret: format!("{sid}_secret_0"),
        provider: ProviderKind::Dlocal,
        order_id: start.order_id.clone(),
        amount: start.amount,
        currency: start.currency,
        merchant: Default::default(),
        checkout_origin: "https://shop.example".into(),
        display: start.display,
        return_url: None,
        confirm_attempts: 0,
        return_reference: None,
        card: None,
        created_at_ms: flow::now_ms(),
        expires_at_ms: flow::now_ms() + 600_000,
        updated_at_ms: flow::now_ms(),
        wake_at_ms: None,
        version: 1,
        phase: Phase::AwaitingBrowser {
            state: AdapterState(serde_json::to_value(state).expect("state")),
            action: threeds_bridge::payment::BrowserAction::Redirect {
                form: threeds_bridge::emv::FormPost::post("https://x.invalid", []),
            },
        },
    }
}

/// What became of an event a host handled.
#[derive(Debug, PartialEq)]
enum Handled {
    /// The adapter had nothing to do with it.
    Declined,
    /// The adapter finished the payment, but another event had stored first.
    LostSwap,
    /// The adapter finished the payment and the host stored it.
    Stored,
}

/// What a host does with an event: let the adapter act on the state it loaded (awaiting
/// the browser), and store the outcome with compare-and-set.
async fn host_event(
    store: &MemoryStore,
    adapter: &DlocalAdapter,
    loaded: &Session,
    act: impl FnOnce(State) -> Option<Step<State>>,
) -> Handled {
    let Phase::AwaitingBrowser { state, .. } = &loaded.phase else {
        panic!("the test hands the adapter a session awaiting the browser: {loaded:?}");
    };
    let state: State = serde_json::from_value(state.0.clone()).expect("state");
    let Some(step) = act(state) else {
        return Handled::Declined;
    };
    let result = finish(adapter, step, &loaded.id).await;
    let next = loaded
        .advanced(Phase::Final { result }, flow::now_ms())
        .expect("advance");
    if store.swap(&next).await.expect("store") {
        Handled::Stored
    } else {
        Handled::LostSwap
    }
}

#[tokio::test]
async fn callback_and_notification_in_either_order_give_one_result_and_one_charge() {
    let sb = support::sandbox().await;
    let (url, mut rx) = receiver().await;
    let mut config = Config::sandbox(&sb.url);
    config.notification_url = Some(url);
    let adapter = DlocalAdapter::new(config.clone());
    let store = MemoryStore::default();

    for callback_first in [true, false] {
        let sid = session_id();
        let start = start("4000000000002008");
        let (state, form) = to_redirect(&adapter, &start, &sid).await;
        store
            .create(&session(&sid, &start, &state))
            .await
            .expect("create");
        let back = flow::follow((&form).into(), Cardholder::Types("1234")).await;
        let notification = final_notification(&config, &mut rx).await;
        // Both events were dispatched against the same stored version.
        let loaded = store.load(&sid).await.expect("load").expect("session");
        let cx = flow::context(&sid);
        let by_callback = |state: State| {
            adapter.verify_browser_return(&state, &back, &cx).ok()?;
            adapter.on_browser_return(state, &back, &cx).ok()
        };
        let by_notification = |state: State| adapter.on_notification(state, &notification, &cx);
        let (first, second) = if callback_first {
            let a = host_event(&store, &adapter, &loaded, by_callback).await;
            let b = host_event(&store, &adapter, &loaded, by_notification).await;
            (a, b)
        } else {
            let a = host_event(&store, &adapter, &loaded, by_notification).await;
            let b = host_event(&store, &adapter, &loaded, by_callback).await;
            (a, b)
        };
        assert_eq!(
            first,
            Handled::Stored,
            "the first event finishes the payment"
        );
        assert_eq!(
            second,
            Handled::LostSwap,
            "the adapter finishes the second too, and the store refuses it: the session moved"
        );
        let stored = store.load(&sid).await.expect("load").expect("session");
        let result = stored.result().expect("final").clone();
        assert_eq!(result.status, PaymentStatus::Authorized);
        assert_ledger(&sb, &result, &start.order_id);
    }
}
