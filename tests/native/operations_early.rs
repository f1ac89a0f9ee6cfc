//! What `threeds-bridge serve --log-format json` writes outside the core's own handling:
//! the answers the native host gives by itself (the per-IP confirm limit's 429, a request
//! head hyper refuses, a head cut short: 408, but not an idle keep-alive connection) carry
//! a request id and an access line like every other request, and
//! a start that fails (a config mistake, a port taken) and the sandbox's start are JSON
//! lines too, so a collector parses every line the process writes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::serve::{free_port, BIN};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "threeds-bridge-early-{tag}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A memory-store config on `listen` with Paysafe at an address nothing answers on (no
/// test here reaches a provider) and `extra` keys merged in.
fn config(dir: &Path, listen: &str, extra: Value) -> PathBuf {
    let mut config = json!({
        "listen": listen,
        "public_url": "http://127.0.0.1:9",
        "checkout_origins": ["http://checkout.test"],
        "merchant_api_keys": ["ops-early-merchant-key-0123"],
        "store": {"kind": "memory"},
        "providers": {
            "paysafe": {
                "base_url": "http://127.0.0.1:9/paysafe",
                "api_user": "u",
                "api_password": "p",
                "account_id": "89987201",
            },
        },
    });
    for (key, value) in extra.as_object().expect("an object") {
        config[key] = value.clone();
    }
    let path = dir.join("backend.json");
    std::fs::write(&path, config.to_string()).expect("write config");
    path
}

/// Every line of `text` as JSON; the test fails on the first that is not.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

/// Runs `threeds-bridge args…` to its end (at most 20 s): exit code, stdout, stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "{args:?} did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("utf-8");
    (out.status.code(), text(out.stdout), text(out.stderr))
}

/// A running `serve --log-format json`, killed when dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(config: &Path) -> Serve {
        let mut child = Command::new(BIN)
            .args(["serve", "--log-format", "json", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        let announced: Value = serde_json::from_str(&first).expect("a JSON start line");
        let url = message(&announced)
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Serve { child, url }
    }

    /// Stops it (SIGTERM) and returns its stderr, every line of it.
    fn stop(mut self) -> String {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        let _ = self.child.wait();
        stderr
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The access line of the request `request_id`.
fn access_line<'l>(lines: &'l [Value], request_id: &str) -> &'l Value {
    lines
        .iter()
        .find(|l| {
            l["target"] == "threeds_bridge::access" && l["spans"][0]["request_id"] == request_id
        })
        .unwrap_or_else(|| panic!("no access line of {request_id}"))
}

#[tokio::test]
async fn the_hosts_own_answers_have_a_request_id_and_an_access_line() {
    let dir = temp_dir("limit");
    let limited = json!({"confirm_rate_limit": {"per_minute": 1, "burst": 1}});
    let serve = Serve::start(&config(
        &dir,
        &format!("127.0.0.1:{}", free_port()),
        limited,
    ));
    let confirm = format!("{}/v1/payments/{}/confirm", serve.url, "ab".repeat(16));
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for id in ["early-confirm-1", "early-confirm-2"] {
        let answer = client
            .post(&confirm)
            .header("X-Request-Id", id)
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("POST");
        assert_eq!(answer.headers()["x-request-id"], id);
        statuses.push(answer.status().as_u16());
    }
    assert_ne!(
        statuses[0], 429,
        "the first confirm is the core's to answer"
    );
    assert_eq!(
        statuses[1], 429,
        "the second is over the limit of 1 a minute"
    );
    // A head hyper cannot parse is answered by hyper itself, before any router.
    let host = serve.url.trim_start_matches("http://").to_owned();
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream
            .write_all(b"NOT AN HTTP REQUEST\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    })
    .await
    .expect("raw request");
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");

    let lines = json_lines(&serve.stop());
    let refused = access_line(&lines, "early-confirm-2");
    assert_eq!(refused["fields"]["status"], 429, "{refused}");
    assert_eq!(refused["fields"]["method"], "POST");
    assert!(refused["fields"]["duration_ms"].is_u64(), "{refused}");
    assert_eq!(refused["spans"][0]["payment"], "ab".repeat(16));
    let warned = lines
        .iter()
        .find(|l| message(l).starts_with("confirm refused"))
        .expect("the refusal's warning");
    assert_eq!(warned["spans"][0]["request_id"], "early-confirm-2");
    assert_eq!(
        access_line(&lines, "early-confirm-1")["fields"]["status"],
        statuses[0]
    );
    let unparsed = lines
        .iter()
        .find(|l| l["target"] == "threeds_bridge::access" && l["fields"]["status"] == 400)
        .expect("the access line of the unparsable head");
    assert_eq!(unparsed["fields"]["path"], "-");
    let minted = unparsed["spans"][0]["request_id"].as_str().unwrap();
    assert!(
        minted.len() == 32 && minted.bytes().all(|b| b.is_ascii_hexdigit()),
        "{unparsed}"
    );
}

/// What the server sends on a new connection given `bytes`, and whether it then closed
/// the connection (rather than the read giving up after 20 s).
fn raw_exchange(host: String, bytes: &'static [u8]) -> std::thread::JoinHandle<(String, bool)> {
    std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(bytes).expect("write");
        let mut answer = Vec::new();
        let closed = stream.read_to_end(&mut answer).is_ok();
        (String::from_utf8_lossy(&answer).into_owned(), closed)
    })
}

#[tokio::test]
async fn a_head_cut_short_is_logged_408_and_an_idle_keep_alive_connection_is_not() {
    let dir = temp_dir("head");
    let serve = Serve::start(&config(
        &dir,
        &format!("127.0.0.1:{}", free_port()),
        json!({}),
    ));
    let host = serve.url.trim_start_matches("http://").to_owned();
    // Both connections end at hyper's header timeout (10 s): one in the middle of a head,
    // one idle after its answer, waiting for a next request that never comes.
    let cut = raw_exchange(host.clone(), b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
    let idle = raw_exchange(host, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let ((cut, _), (idle, _)) =
        tokio::task::spawn_blocking(move || (cut.join().expect("cut"), idle.join().expect("idle")))
            .await
            .expect("both");
    assert_eq!(cut, "", "no answer to a head cut short");
    assert!(idle.starts_with("HTTP/1.1 200"), "{idle}");

    let lines = json_lines(&serve.stop());
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "threeds_bridge::access")
        .collect();
    let statuses: Vec<&Value> = access.iter().map(|l| &l["fields"]["status"]).collect();
    assert_eq!(statuses, [200, 408], "{access:?}");
    let late = access[1];
    assert_eq!(late["fields"]["method"], "-");
    // Timed from the head's first byte (about the 10 s timeout), not left at 0.
    assert!(
        late["fields"]["duration_ms"].as_u64().unwrap() > 0,
        "{late}"
    );
    assert_eq!(late["spans"][0]["request_id"].as_str().unwrap().len(), 32);
}

/// A connection that never sends a byte ends at the header timeout, as one that stops in
/// the middle of a head does; and one that opens with HTTP/2's preface is refused, not
/// served as cleartext HTTP/2 (which has no header timeout): neither holds a connection.
#[tokio::test]
async fn a_silent_connection_is_closed_and_cleartext_http2_is_not_served() {
    let dir = temp_dir("silent");
    let serve = Serve::start(&config(
        &dir,
        &format!("127.0.0.1:{}", free_port()),
        json!({}),
    ));
    let host = serve.url.trim_start_matches("http://").to_owned();
    let silent = raw_exchange(host.clone(), b"");
    let http2 = raw_exchange(host, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let ((silent, silent_closed), (http2, http2_closed)) = tokio::task::spawn_blocking(move || {
        (silent.join().expect("silent"), http2.join().expect("http2"))
    })
    .await
    .expect("both");
    assert!(silent_closed, "the silent connection was closed");
    assert!(silent.is_empty(), "{silent}");
    assert!(http2_closed, "the HTTP/2 connection was closed");
    // Refused by the HTTP/1 parser (its own 400, or nothing): no HTTP/2 SETTINGS frame.
    assert!(
        http2.is_empty() || http2.starts_with("HTTP/1.1 400"),
        "{http2:?}"
    );
    drop(serve.stop());
}

#[test]
fn a_config_mistake_in_json_mode_is_a_json_line_naming_the_key() {
    let dir = temp_dir("config");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:9\"\n\
         merchant_api_keys = [\"ops-early-merchant-key-0123\"]\n\
         [store]\nkind = \"memory\"\n\
         [providers.paysafe]\nbase_url = \"http://127.0.0.1:9/paysafe\"\n\
         api_usr = \"u\"\napi_password = \"p\"\naccount_id = \"89987201\"\n",
    )
    .expect("write");
    let (code, stdout, stderr) = run(&[
        "serve",
        "--log-format",
        "json",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let lines = json_lines(&stderr);
    assert!(!lines.is_empty());
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .expect("an ERROR line");
    assert!(
        message(error).contains("providers.paysafe.api_usr: unknown key; did you mean `api_user`?"),
        "{error}"
    );
    // The same mistake in text mode is the same one line, as it was.
    let (code, _, text) = run(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(text.starts_with("threeds-bridge serve: --config"), "{text}");
    assert!(text.contains("providers.paysafe.api_usr"), "{text}");
}

#[test]
fn a_port_it_cannot_listen_on_is_a_json_line_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = taken.local_addr().expect("addr").to_string();
    let dir = temp_dir("listen");
    let path = config(&dir, &listen, json!({}));
    let (code, _, stderr) = run(&[
        "serve",
        "--log-format",
        "json",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    let lines = json_lines(&stderr);
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR"
                && message(l).contains(&format!("cannot listen on {listen}"))),
        "{stderr}"
    );
}

#[test]
fn the_sandbox_in_json_mode_announces_its_urls_as_json_lines() {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--port", "0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut said = Vec::new();
    while !said.iter().any(|l: &Value| message(l).contains("Ctrl-C")) {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("a line") == 0 {
            break;
        }
        said.extend(json_lines(&line));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        message(&said[0]).starts_with("threeds-bridge sandbox: serving http://127.0.0.1:"),
        "{said:?}"
    );
    assert!(said.iter().any(|l| message(l).contains("/_sandbox/ledger")));
    assert!(said.iter().all(|l| l["level"] == "INFO"));
}
