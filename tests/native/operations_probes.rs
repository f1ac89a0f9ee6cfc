//! `threeds-bridge serve`'s probes as an orchestrator reads them: `/healthz` and `/readyz`
//! answer, and `/readyz` is 503 while PostgreSQL cannot be reached (through a TCP door to
//! the test server that the test closes and opens again), `/healthz` 200 all the same.

use crate::support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::operations::{config, temp_dir};
use serde_json::{json, Value};
use support::serve::{free_port, serve_command, Serve};

/// A TCP door to the test PostgreSQL (on its Unix socket) that the test can close,
/// cutting every connection through it, and open again.
struct Door {
    port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl Door {
    async fn new() -> Door {
        let url = support::store::database_url();
        let dir = url
            .split("host=")
            .nth(1)
            .expect("a socket directory")
            .to_owned();
        let socket = std::fs::read_dir(&dir)
            .expect("the socket directory")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(".s.PGSQL.") && !name.ends_with(".lock")
            })
            .expect("PostgreSQL's socket");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().unwrap().port();
        let (open, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(door(listener, socket, watch));
        Door { port, open }
    }

    fn url(&self) -> String {
        format!("postgresql://tb_test@127.0.0.1:{}/tb_test", self.port)
    }
}

async fn door(
    listener: tokio::net::TcpListener,
    socket: PathBuf,
    mut open: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut tcp, _)) = accepted else { continue };
                if !*open.borrow() {
                    continue;
                }
                let socket = socket.clone();
                connections.spawn(async move {
                    if let Ok(mut unix) = tokio::net::UnixStream::connect(&socket).await {
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
                    }
                });
            }
            changed = open.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*open.borrow() {
                    connections.abort_all();
                }
            }
        }
    }
}

async fn probe(url: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{url}{path}")).await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

// Two threads: the door's task must run while this one waits for serve to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_and_readyz_is_503_while_postgresql_cannot_be_reached() {
    let sandbox = support::sandbox().await;
    let dir = temp_dir("probes");
    let door = Door::new().await;
    let store = json!({
        "kind": "postgres",
        "url": door.url(),
        "schema": support::store::fresh_schema(),
        "pool_size": 2,
    });
    let config = config(&dir, free_port(), &sandbox.url, store, 5_000);
    let serve = Serve::start(serve_command(&config, &[]));
    let url = serve.url.clone();
    assert_eq!(
        probe(&url, "/healthz").await,
        (200, json!({"status": "alive"}))
    );
    assert_eq!(
        probe(&url, "/readyz").await,
        (200, json!({"status": "ready"}))
    );

    door.open.send_replace(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, body) = loop {
        let answer = probe(&url, "/readyz").await;
        if answer.0 != 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    assert_eq!(probe(&url, "/healthz").await.0, 200, "alive all the same");

    door.open.send_replace(true);
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe(&url, "/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(serve);
    let _ = std::fs::remove_dir_all(dir);
}
