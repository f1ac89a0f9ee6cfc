//! `threeds-bridge serve --config FILE` as a process: it starts from a JSON config with a
//! secret from the environment, serves the API, and refuses a config whose secret
//! variable is missing, naming the variable.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_threeds-bridge");

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("backend.json");
    let text = r#"{
        "listen": "127.0.0.1:0",
        "public_url": "http://127.0.0.1:8080",
        "checkout_origins": ["http://127.0.0.1:8080"],
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
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config(&dir))
        .env("TB_TEST_PAYSAFE_PASSWORD", "not-printed-anywhere")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    assert!(line.contains("paysafe"), "{line}");
    let script = reqwest::get(format!("{url}/v1/complete.js"))
        .await
        .expect("GET");
    assert_eq!(script.status(), 200);
    let missing = reqwest::get(format!("{url}/v1/payments/{}", "a".repeat(32)))
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("not-printed-anywhere"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_secret_stops_the_start_and_names_the_variable() {
    let dir = temp_dir("missing");
    let output = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config(&dir))
        .env_remove("TB_TEST_PAYSAFE_PASSWORD")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TB_TEST_PAYSAFE_PASSWORD"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
