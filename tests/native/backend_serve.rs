//! `threeds-bridge serve --config FILE` as a process: it starts from a JSON config with a
//! secret from the environment, serves the API, and refuses a config whose secret
//! variable is missing, naming the variable; on SQLite, a payment started before the
//! process is killed mid-challenge finishes after a restart, charged once.

use crate::support;

use std::process::Command;
use std::time::Duration;

use support::backend::{next_form, start_at, start_body, Cardholder, CHECKOUT, MERCHANT_KEY};
use support::cardholder::until_backend;
use support::serve::{free_port, sandbox_providers, serve_command, spawn_serve, Serve, BIN};

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("backend.json");
    let text = r#"{
        "listen": "127.0.0.1:0",
        "public_url": "http://127.0.0.1:8080",
        "checkout_origins": ["http://127.0.0.1:8080"],
        "merchant_api_keys": [{"env": "TB_TEST_MERCHANT_KEY"}],
        "providers": {
            "paysafe": {
                "base_url": "http://127.0.0.1:9/paysafe",
                "api_user": "sandbox-paysafe-user",
                "api_password": {"env": "TB_TEST_PAYSAFE_PASSWORD"},
                "account_id": "89987201"
            }
        }
    }"#;
    std::fs::write(&path, text).expect("write config");
    path
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("threeds-bridge-serve-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn serve_starts_from_a_config_file_and_answers() {
    let dir = temp_dir("ok");
    let mut command = serve_command(&config(&dir), &[]);
    command
        .env("TB_TEST_PAYSAFE_PASSWORD", "not-printed-anywhere")
        .env("TB_TEST_MERCHANT_KEY", MERCHANT_KEY);
    let mut serve = Serve::start(command);
    let url = serve.url.clone();
    assert!(serve.first_line.contains("paysafe"), "{}", serve.first_line);
    let script = reqwest::get(format!("{url}/v1/complete.js"))
        .await
        .expect("GET");
    assert_eq!(script.status(), 200);
    let missing = reqwest::Client::new()
        .get(format!("{url}/v1/payments/{}", "a".repeat(32)))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
    // Stopped as an operator would, so that every line it wrote, its last too, is read.
    serve.terminate();
    assert_eq!(serve.exit_code(Duration::from_secs(30)), Some(0));
    let output = serve.output().join("\n");
    assert!(!output.contains("not-printed-anywhere"), "{output}");
    assert!(!output.contains(MERCHANT_KEY), "{output}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_secret_stops_the_start_and_names_the_variable() {
    let dir = temp_dir("missing");
    let output = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config(&dir))
        .env_remove("TB_TEST_PAYSAFE_PASSWORD")
        .env("TB_TEST_MERCHANT_KEY", MERCHANT_KEY)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TB_TEST_PAYSAFE_PASSWORD"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn on_sqlite_a_payment_survives_a_kill_mid_challenge() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("sqlite");
    let db = dir.join("sessions.sqlite3");
    // A fixed port for both processes: return URLs are made from public_url.
    let port = free_port();
    let config = dir.join("backend.json");
    let text = serde_json::json!({
        "listen": format!("127.0.0.1:{port}"),
        "public_url": format!("http://127.0.0.1:{port}"),
        "checkout_origins": [CHECKOUT],
        "merchant_api_keys": [MERCHANT_KEY],
        "store": {"kind": "sqlite", "path": db},
        "providers": sandbox_providers(&sandbox.url, &["paysafe"]),
    });
    std::fs::write(&config, text.to_string()).expect("write config");

    let (mut first, url) = spawn_serve(&config);
    let pan = "4000000000002008";
    let (status, view, secret) = start_at(&url, &start_body("paysafe", pan, "iframe")).await;
    assert_eq!(status, 200, "{view}");
    let secret = secret.expect("a client secret");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    // The cardholder types the code; the ACS's answer is on its way back when the
    // backend dies.
    let back = until_backend(&url, next_form(&view), Cardholder::Types("1234")).await;
    first.kill().expect("kill");
    first.wait().expect("reaped");

    let (mut second, url_again) = spawn_serve(&config);
    assert_eq!(url_again, url);
    let landing = back.submit(&support::browser(), &url).await;
    assert_eq!(landing.status(), 200, "the completion page");
    let view: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/v1/payments/{id}"))
        .header("X-Client-Secret", &secret)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("view");
    assert_eq!(view["result"]["status"], "authorized", "{view}");
    let charges = sandbox.sandbox.ledger.entries();
    assert_eq!(charges.len(), 1, "one charge");
    assert_eq!(
        view["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str())
    );
    let _ = second.kill();
    let _ = second.wait();

    for file in ["sessions.sqlite3", "sessions.sqlite3-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(pan), "{file} holds the PAN");
    }
    let _ = std::fs::remove_dir_all(dir);
}
