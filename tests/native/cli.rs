//! The `threeds-bridge` binary's command line as an operator meets it: each command's own
//! help, exit statuses, and a config mistake stopping `serve` with the key's path.

use crate::support;

use std::process::{Command, Output, Stdio};

use support::serve::BIN;

/// Runs the binary to its end, or for 20 s: a `serve` that should have refused its config
/// but started is stopped, and its missing exit code fails the test instead of hanging it.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().expect("the binary's output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn serve_help_is_serve_s_own_and_exits_0() {
    for args in [["serve", "--help"], ["help", "serve"]] {
        let out = run(&args);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            stdout.starts_with("threeds-bridge serve: ")
                && stdout.contains("--config FILE")
                && stdout.contains("--log-format json|text")
                && !stdout.contains("--sandbox-port"),
            "{args:?}: {stdout}"
        );
    }
    let global = run(&["help"]);
    assert_eq!(global.status.code(), Some(0));
    assert!(text(&global.stdout).contains("COMMANDS:"));
}

#[test]
fn an_unknown_command_or_a_missing_option_exits_2_with_where_to_look() {
    let unknown = run(&["help", "launch"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(unknown.stdout.is_empty());
    assert!(
        text(&unknown.stderr).contains("unknown command \"launch\""),
        "{}",
        text(&unknown.stderr)
    );
    let bare = run(&["reconcile"]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(
        text(&bare.stderr).contains("Run `threeds-bridge help reconcile`"),
        "{}",
        text(&bare.stderr)
    );
}

#[test]
fn serve_refuses_a_misspelt_config_key_naming_its_path() {
    let dir = std::env::temp_dir().join(format!("threeds-bridge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = ["cli-test-merchant-key-0123"]
[providers.paysafe]
base_url = "http://127.0.0.1:9/paysafe"
api_usr = "sandbox-paysafe-user"
api_password = "cli-test-password-s3cret"
account_id = "89987201"
"#,
    )
    .expect("write the config");
    let out = run(&["serve", "--config", path.to_str().expect("utf-8 path")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("providers.paysafe.api_usr: unknown key; did you mean `api_user`?"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");

    let url = std::fs::read_to_string(&path)
        .expect("read")
        .replace("api_usr", "api_user")
        .replace("http://127.0.0.1:9/paysafe", "htp:/127.0.0.1:9/paysafe");
    std::fs::write(&path, url).expect("write the config");
    let out = run(&["serve", "--config", path.to_str().expect("utf-8 path")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("providers.paysafe.base_url: "), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A key written twice in a JSON config is refused by its path and line, not settled by
/// whichever came last (the payments of one account sent to another).
#[test]
fn serve_refuses_a_json_config_key_given_twice() {
    let dir = std::env::temp_dir().join(format!("threeds-bridge-cli-twice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("twice.json");
    let config = r#"{
  "listen": "127.0.0.1:0",
  "public_url": "http://127.0.0.1:8080",
  "checkout_origins": ["http://127.0.0.1:8080"],
  "merchant_api_keys": ["cli-test-merchant-key-0123"],
  "providers": {
    "paysafe": {
      "base_url": "http://127.0.0.1:9/paysafe",
      "api_user": "sandbox-paysafe-user",
      "api_password": "cli-test-password-s3cret",
      "account_id": "89987201",
      "account_id": "11111111"
    }
  }
}"#;
    std::fs::write(&path, config).expect("write the config");
    let out = run(&["serve", "--config", path.to_str().expect("utf-8 path")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("providers.paysafe.account_id: given twice (line 12)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("11111111"),
        "{stderr}"
    );

    // Once, it starts as far as the listener: the same file less the second line.
    let once = config.replace(",\n      \"account_id\": \"11111111\"", "");
    std::fs::write(&path, once).expect("write the config");
    let (mut serve, url) = support::serve::spawn_serve(&path);
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What only the native host reads is checked with the rest of the config: a `listen`
/// with no port, a PostgreSQL schema or URL that cannot be used stop `serve` with exit 2
/// and the key's path, before any store is opened (they were a failure to start, exit 1,
/// which a service manager restarts for ever). An argument that is not UTF-8 is a usage
/// mistake (exit 2), not a panic (101).
#[test]
fn host_keys_and_arguments_are_config_and_usage_mistakes() {
    let dir = std::env::temp_dir().join(format!("threeds-bridge-cli-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base = r#"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = ["cli-test-merchant-key-0123"]
[providers.paysafe]
base_url = "http://127.0.0.1:9/paysafe"
api_user = "sandbox-paysafe-user"
api_password = "cli-test-password-s3cret"
account_id = "89987201"
"#;
    // The store's table goes last: TOML keys after a table header belong to it.
    let postgres = |schema: &str, url: &str| {
        format!("[store]\nkind = \"postgres\"\nurl = \"{url}\"\nschema = \"{schema}\"\n")
    };
    for (listen, store, key) in [
        ("127.0.0.1", String::new(), "listen: "),
        (":8080", String::new(), "listen: "),
        (
            "127.0.0.1:0",
            postgres("Payments", "postgresql://tb:pw-s3cret@127.0.0.1:1/tb"),
            "store.schema: ",
        ),
        (
            "127.0.0.1:0",
            postgres("payments", "postgresql://tb:pw-s3cret@[::1"),
            "store.url: ",
        ),
    ] {
        let path = dir.join("host.toml");
        std::fs::write(&path, format!("listen = \"{listen}\"\n{base}{store}"))
            .expect("write the config");
        let out = run(&["serve", "--config", path.to_str().expect("utf-8 path")]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{listen} {store}: {stderr}");
        assert!(stderr.contains(key), "{listen} {store}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(BIN)
        .arg("serve")
        .arg("--config")
        .arg(std::ffi::OsStr::from_bytes(b"/etc/\xff.toml"))
        .output()
        .expect("run the binary");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not valid UTF-8"));
}

/// A `serve` that cannot listen (its port taken, as by the old instance during an upgrade)
/// stops before it touches the store: no SQLite file, not even its directory.
#[test]
fn serve_that_cannot_listen_leaves_the_store_untouched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let port = taken.local_addr().expect("its address").port();
    let dir = std::env::temp_dir().join(format!("threeds-bridge-cli-port-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = dir.join("new").join("sessions.sqlite3");
    let path = dir.join("taken.toml");
    std::fs::write(
        &path,
        format!(
            r#"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = ["cli-test-merchant-key-0123"]
[store]
kind = "sqlite"
path = "{}"
[providers.paysafe]
base_url = "http://127.0.0.1:9/paysafe"
api_user = "sandbox-paysafe-user"
api_password = "cli-test-password-s3cret"
account_id = "89987201"
"#,
            store.display()
        ),
    )
    .expect("write the config");
    let out = run(&["serve", "--config", path.to_str().expect("utf-8 path")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(!dir.join("new").exists(), "the store's directory was made");
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}
