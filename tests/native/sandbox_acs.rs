//! The sandbox ACS pages over real HTTP, with the test acting as the cardholder's browser:
//! Method, 2.x challenge (CReq → CRes), 3DS 1.0.2 (PaReq → PaRes), and the refusals.

use crate::support;

use reqwest::StatusCode;
use support::{browser, form, forms, sandbox};
use threeds_bridge::emv::{
    base64url, CReq, CardBrand, ChallengeOutcome, ChallengeWindowSize, Generation, TransStatus,
};
use threeds_bridge::sandbox::acs::{self, AcsTransaction, ChallengeStart};
use threeds_bridge::sandbox::cards::MethodBehaviour;
use threeds_bridge::sandbox::RunningSandbox;

/// A form's fields, in order.
type Fields<'a> = Vec<(&'a str, &'a str)>;

const NOTIFY: &str = "https://merchant.example/3ds/notify?order=42&x=\"y\"";

fn start(generation: Generation) -> ChallengeStart {
    ChallengeStart {
        brand: CardBrand::Visa,
        generation,
        message_version: match generation {
            Generation::Emv => "2.2.0".into(),
            Generation::Legacy => "1.0.2".into(),
        },
        three_ds_server_trans_id: "8a880dc0-d2d2-4067-bcb1-b08d1690b26e".into(),
        notification_url: NOTIFY.into(),
        merchant_name: "Ada's <Books> & Co".into(),
        amount: 1999,
        currency: "USD".into(),
        masked_card: "400000******2008".into(),
    }
}

fn creq_of(tx: &AcsTransaction) -> String {
    CReq::new(
        tx.start.three_ds_server_trans_id.clone(),
        tx.acs_trans_id.clone(),
        tx.start.message_version.clone(),
        ChallengeWindowSize::W390xH400,
    )
    .to_base64url()
}

async fn post_form(
    running: &RunningSandbox,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = browser()
        .post(format!("{}{path}", running.url))
        .form(fields)
        .send()
        .await
        .expect("post");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// What every ACS page must be: no inline script, no inline style.
fn assert_strict_page(html: &str) {
    assert!(!html.contains("style"), "inline style in page:\n{html}");
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').expect("tag end")];
        assert!(
            tag.contains("src=\"/acs/static/autosubmit.js\""),
            "inline script in page:\n{html}"
        );
    }
}

/// Opens the challenge page for `tx` (with session data) and returns its form and HTML.
async fn open_challenge(
    running: &RunningSandbox,
    tx: &AcsTransaction,
) -> (support::PageForm, String) {
    let creq = creq_of(tx);
    let (status, html) = post_form(
        running,
        acs::CHALLENGE_PATH,
        &[("creq", &creq), ("threeDSSessionData", "b3JkZXItNDI")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    (form(&html, Some("challenge")), html)
}

/// Answers the challenge page and returns the auto-submit form the browser is given.
async fn answer(
    running: &RunningSandbox,
    page: &support::PageForm,
    otp: &str,
    action: &str,
) -> support::PageForm {
    let mut page = page.clone();
    page.set("otp", otp);
    page.set("action", action);
    let response = page.submit(&browser(), &running.url).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert_strict_page(&html);
    assert!(html.contains("<script src=\"/acs/static/autosubmit.js\"></script>"));
    form(&html, Some("autosubmit"))
}

fn cres(post: &support::PageForm) -> threeds_bridge::emv::CRes {
    let cres = post.field("cres").expect("cres field");
    match ChallengeOutcome::from_base64url(cres).expect("cres parses") {
        ChallengeOutcome::Completed(cres) => cres,
        other => panic!("not a CRes: {other:?}"),
    }
}

#[tokio::test]
async fn challenge_page_shows_the_purchase_and_the_contract_selectors() {
    let running = sandbox().await;
    let tx = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let (page, html) = open_challenge(&running, &tx).await;
    assert_strict_page(&html);
    assert!(html.contains("Ada&#39;s &lt;Books&gt; &amp; Co"), "{html}");
    assert!(html.contains("19.99 USD"), "{html}");
    assert!(html.contains("400000******2008"), "{html}");
    assert!(html.contains("<input id=\"otp\" name=\"otp\""), "{html}");
    assert!(
        html.contains("<button id=\"submit\" type=\"submit\" name=\"action\" value=\"submit\">")
    );
    assert!(html.contains("<button id=\"cancel\" type=\"submit\" name=\"action\" value=\"cancel\""));
    // Keyboard: a label for the field, and #submit is the form's default button (first).
    assert!(html.contains("<label for=\"otp\">"));
    assert!(html.find("id=\"submit\"") < html.find("id=\"cancel\""));
    assert_eq!(
        (page.method.as_str(), page.action.as_str()),
        ("post", "/acs/challenge/answer")
    );
    assert_eq!(page.field("acsTransID"), Some(tx.acs_trans_id.as_str()));
    assert_eq!(page.field("threeDSSessionData"), Some("b3JkZXItNDI"));
    assert_eq!(
        running.sandbox.acs.outcome(&tx.acs_trans_id),
        None,
        "showing the page decides nothing"
    );
}

#[tokio::test]
async fn code_1234_authenticates_and_the_cres_goes_to_the_notification_url() {
    let running = sandbox().await;
    let tx = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let (page, _) = open_challenge(&running, &tx).await;
    let post = answer(&running, &page, "1234", "submit").await;
    assert_eq!(post.action, NOTIFY);
    assert_eq!(post.method, "post");
    assert_eq!(post.field("threeDSSessionData"), Some("b3JkZXItNDI"));
    let cres = cres(&post);
    assert_eq!(cres.trans_status, TransStatus::Y);
    assert_eq!(cres.acs_trans_id, tx.acs_trans_id);
    assert_eq!(
        cres.three_ds_server_trans_id,
        tx.start.three_ds_server_trans_id
    );
    assert_eq!(cres.message_version, "2.2.0");
    let raw: serde_json::Value =
        serde_json::from_slice(&base64url::decode(post.field("cres").unwrap()).unwrap()).unwrap();
    assert_eq!(raw["messageType"], "CRes");
    let outcome = running
        .sandbox
        .acs
        .outcome(&tx.acs_trans_id)
        .expect("ended");
    assert_eq!(outcome.values.trans_status, TransStatus::Y);
    assert!(!outcome.cancelled);
    assert_eq!(outcome.values.cavv.as_deref().map(str::len), Some(28));
}

#[tokio::test]
async fn a_wrong_code_fails_and_cancel_is_challenge_cancel() {
    let running = sandbox().await;
    let wrong = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let (page, _) = open_challenge(&running, &wrong).await;
    let post = answer(&running, &page, "0000", "submit").await;
    assert_eq!(cres(&post).trans_status, TransStatus::N);
    let outcome = running.sandbox.acs.outcome(&wrong.acs_trans_id).unwrap();
    assert_eq!(
        (outcome.values.trans_status, outcome.cancelled),
        (TransStatus::N, false)
    );

    let cancelled = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let (page, _) = open_challenge(&running, &cancelled).await;
    // The code typed before cancelling must not count.
    let post = answer(&running, &page, "1234", "cancel").await;
    assert_eq!(cres(&post).trans_status, TransStatus::N);
    let outcome = running
        .sandbox
        .acs
        .outcome(&cancelled.acs_trans_id)
        .unwrap();
    assert_eq!(
        (outcome.values.trans_status, outcome.cancelled),
        (TransStatus::N, true)
    );
    assert_eq!(outcome.values.eci, None);
}

#[tokio::test]
async fn a_replayed_answer_or_creq_changes_nothing() {
    let running = sandbox().await;
    let tx = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let (page, _) = open_challenge(&running, &tx).await;
    answer(&running, &page, "9999", "submit").await;
    let mut replay = page.clone();
    replay.set("otp", "1234");
    replay.set("action", "submit");
    let response = replay.submit(&browser(), &running.url).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("already ended"), "{html}");
    assert!(forms(&html).is_empty(), "an error page posts nothing on");
    let (status, html) = post_form(&running, acs::CHALLENGE_PATH, &[("creq", &creq_of(&tx))]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    let outcome = running.sandbox.acs.outcome(&tx.acs_trans_id).unwrap();
    assert_eq!(
        (outcome.values.trans_status, outcome.cancelled),
        (TransStatus::N, false)
    );
}

#[tokio::test]
async fn bad_challenge_input_gets_a_400_page_saying_what_is_wrong() {
    let running = sandbox().await;
    let tx = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let unknown = CReq::new(
        tx.start.three_ds_server_trans_id.clone(),
        "00000000-0000-4000-8000-000000000000".into(),
        "2.2.0".into(),
        ChallengeWindowSize::FullScreen,
    )
    .to_base64url();
    let other_server = CReq::new(
        "another-3ds-server-transaction".into(),
        tx.acs_trans_id.clone(),
        "2.2.0".into(),
        ChallengeWindowSize::FullScreen,
    )
    .to_base64url();
    let not_json = base64url::encode("{not json");
    let good = creq_of(&tx);
    let cases: Vec<(&str, Fields, &str)> = vec![
        (
            "garbage",
            vec![("creq", "%%% not base64 %%%")],
            "creq is not a valid CReq",
        ),
        (
            "not json",
            vec![("creq", &not_json)],
            "creq is not a valid CReq",
        ),
        (
            "missing",
            vec![("threeDSSessionData", "abc")],
            "could not be read",
        ),
        ("unknown", vec![("creq", &unknown)], "No challenge is known"),
        (
            "other server",
            vec![("creq", &other_server)],
            "does not match",
        ),
        (
            "bad session",
            vec![("creq", &good), ("threeDSSessionData", "not base64url!")],
            "threeDSSessionData",
        ),
    ];
    for (name, fields, message) in cases {
        let (status, html) = post_form(&running, acs::CHALLENGE_PATH, &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {html}");
        assert!(html.contains(message), "{name}: {html}");
        assert_strict_page(&html);
    }
    let (status, html) = post_form(
        &running,
        "/acs/challenge/answer",
        &[
            ("acsTransID", "nope"),
            ("otp", "1234"),
            ("action", "submit"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("No challenge is known"), "{html}");
    let (status, html) = post_form(
        &running,
        "/acs/challenge/answer",
        &[
            ("acsTransID", &tx.acs_trans_id),
            ("otp", "1234"),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown button: {html}");
    // A 3DS1 transaction cannot be reached with a CReq.
    let legacy = running
        .sandbox
        .acs
        .start_challenge(start(Generation::Legacy));
    let (status, _) = post_form(
        &running,
        acs::CHALLENGE_PATH,
        &[("creq", &creq_of(&legacy))],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An oversize form is refused before it is read.
    let huge = "A".repeat(100_000);
    let (status, _) = post_form(&running, acs::CHALLENGE_PATH, &[("creq", &huge)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // None of that decided the pending challenge.
    assert_eq!(running.sandbox.acs.outcome(&tx.acs_trans_id), None);
    assert_eq!(running.sandbox.acs.outcome(&legacy.acs_trans_id), None);
}

#[tokio::test]
async fn pareq_challenge_posts_pares_and_md_to_the_term_url() {
    let running = sandbox().await;
    for (otp, action, status) in [
        ("1234", "submit", "Y"),
        ("4321", "submit", "N"),
        ("", "cancel", "N"),
    ] {
        let tx = running
            .sandbox
            .acs
            .start_challenge(start(Generation::Legacy));
        let pa_req = acs::encode_pareq(&tx);
        let (code, html) = post_form(
            &running,
            acs::PAREQ_PATH,
            &[
                ("PaReq", &pa_req),
                ("MD", "md <opaque> & 1"),
                ("TermUrl", NOTIFY),
            ],
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{html}");
        assert_strict_page(&html);
        assert!(html.contains("19.99 USD") && html.contains("400000******2008"));
        for selector in ["id=\"otp\"", "id=\"submit\"", "id=\"cancel\""] {
            assert!(html.contains(selector), "{selector}: {html}");
        }
        let mut page = form(&html, Some("challenge"));
        assert_eq!(page.action, "/acs/pareq/answer");
        assert_eq!(page.field("xid"), Some(tx.acs_trans_id.as_str()));
        assert_eq!(page.field("MD"), Some("md <opaque> & 1"));
        page.set("otp", otp);
        page.set("action", action);
        let response = page.submit(&browser(), &running.url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let post = form(&response.text().await.unwrap(), Some("autosubmit"));
        assert_eq!(post.action, NOTIFY);
        assert_eq!(post.field("MD"), Some("md <opaque> & 1"));
        let claim = acs::decode_pares(post.field("PaRes").expect("PaRes")).expect("PaRes decodes");
        assert_eq!(
            (claim.xid.as_str(), claim.status.as_str()),
            (tx.acs_trans_id.as_str(), status)
        );
        let outcome = running.sandbox.acs.outcome(&tx.acs_trans_id).unwrap();
        assert_eq!(outcome.cancelled, action == "cancel");
        // Replaying the answer changes nothing.
        page.set("otp", "1234");
        page.set("action", "submit");
        let response = page.submit(&browser(), &running.url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            running.sandbox.acs.outcome(&tx.acs_trans_id).unwrap(),
            outcome
        );
    }
}

#[tokio::test]
async fn bad_pareq_input_gets_a_400_page() {
    let running = sandbox().await;
    let tx = running
        .sandbox
        .acs
        .start_challenge(start(Generation::Legacy));
    let good = acs::encode_pareq(&tx);
    // A PaReq the sandbox never issued (another directory's XID).
    let elsewhere = acs::AcsDirectory::default().start_challenge(start(Generation::Legacy));
    let foreign = acs::encode_pareq(&elsewhere);
    let emv = running.sandbox.acs.start_challenge(start(Generation::Emv));
    let emv_pareq = acs::encode_pareq(&emv);
    #[rustfmt::skip]
    let cases: Vec<(Fields, &str)> = vec![
        (vec![("PaReq", "!!garbage!!"), ("MD", "m"), ("TermUrl", NOTIFY)], "not a valid PaReq"),
        (vec![("PaReq", "AAAA"), ("MD", "m"), ("TermUrl", NOTIFY)], "not a valid PaReq"),
        (vec![("PaReq", &foreign), ("MD", "m"), ("TermUrl", NOTIFY)], "No 3DS 1.0.2 transaction"),
        (vec![("PaReq", &emv_pareq), ("MD", "m"), ("TermUrl", NOTIFY)], "3DS 2 challenge"),
        (vec![("PaReq", &good), ("MD", "m")], "could not be read"),
        (vec![("PaReq", &good), ("MD", "m"), ("TermUrl", " ")], "TermUrl is missing"),
    ];
    for (fields, message) in cases {
        let (status, html) = post_form(&running, acs::PAREQ_PATH, &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {html}");
        assert!(html.contains(message), "{fields:?}: {html}");
    }
    let (status, _) = post_form(
        &running,
        "/acs/pareq/answer",
        &[
            ("xid", &elsewhere.acs_trans_id),
            ("MD", "m"),
            ("otp", "1234"),
            ("action", "submit"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(running.sandbox.acs.outcome(&tx.acs_trans_id), None);
    assert_eq!(running.sandbox.acs.outcome(&emv.acs_trans_id), None);
}

fn method_data(id: &str, notification_url: &str) -> String {
    base64url::encode(
        serde_json::json!({
            "threeDSServerTransID": id,
            "threeDSMethodNotificationURL": notification_url,
        })
        .to_string(),
    )
}

#[tokio::test]
async fn method_page_answers_never_answers_or_refuses() {
    let running = sandbox().await;
    let notify = "https://merchant.example/3ds/method";
    running
        .sandbox
        .acs
        .expect_method("tx-answers", MethodBehaviour::Answers);
    running
        .sandbox
        .acs
        .expect_method("tx-silent", MethodBehaviour::NeverAnswers);

    let (status, html) = post_form(
        &running,
        acs::METHOD_PATH,
        &[("threeDSMethodData", &method_data("tx-answers", notify))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_strict_page(&html);
    let post = form(&html, Some("autosubmit"));
    assert_eq!(post.action, notify);
    let completion: serde_json::Value = serde_json::from_slice(
        &base64url::decode(post.field("threeDSMethodData").expect("field")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        completion,
        serde_json::json!({"threeDSServerTransID": "tx-answers"})
    );
    assert!(running.sandbox.acs.method_completed("tx-answers"));

    let (status, html) = post_form(
        &running,
        acs::METHOD_PATH,
        &[("threeDSMethodData", &method_data("tx-silent", notify))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        forms(&html).is_empty() && !html.contains("<script"),
        "never posts back: {html}"
    );
    assert!(!running.sandbox.acs.method_completed("tx-silent"));

    for (name, data) in [
        ("unknown", method_data("tx-unknown", notify)),
        (
            "no url",
            base64url::encode(r#"{"threeDSServerTransID":"tx-answers"}"#),
        ),
        ("not http", method_data("tx-answers", "javascript:alert(1)")),
        ("garbage", "***".to_owned()),
    ] {
        let (status, html) =
            post_form(&running, acs::METHOD_PATH, &[("threeDSMethodData", &data)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {html}");
        assert!(forms(&html).is_empty());
    }
    assert!(!running.sandbox.acs.method_completed("tx-unknown"));
}

#[tokio::test]
async fn autosubmit_script_is_served_as_javascript() {
    let running = sandbox().await;
    let response = browser()
        .get(format!("{}/acs/static/autosubmit.js", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert_eq!(
        response.text().await.unwrap(),
        threeds_bridge::sandbox::html::AUTOSUBMIT_SCRIPT
    );
}
