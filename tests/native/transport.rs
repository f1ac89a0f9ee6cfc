//! The native host's provider calls (`ReqwestTransport`) over real HTTP to a server of the
//! test's own: what it reads of an answer. At most `MAX_ANSWER_BYTES`, however long the
//! answer or if it never ends, and the rest is left unread (the connection dropped), so a
//! provider or a webhook endpoint that misbehaves cannot hold the backend's memory or its
//! call until the timeout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use threeds_bridge::backend::native::ReqwestTransport;
use threeds_bridge::backend::{CallPolicy, Transport};
use threeds_bridge::provider::{HttpRequest, MAX_ANSWER_BYTES};

/// Serves one connection on a free port: `200 OK`, then spaces (valid JSON whitespace) for
/// as long as the client reads them. Answers the URL and the bytes of body written before
/// the client went away.
async fn endless_answer() -> (String, tokio::task::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!(
        "http://{}/endless",
        listener.local_addr().expect("its address")
    );
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the call");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
        socket.write_all(answer.as_bytes()).await.expect("the head");
        let spaces = vec![b' '; 64 * 1024];
        let mut written = 0;
        while socket.write_all(&spaces).await.is_ok() {
            written += spaces.len();
        }
        written
    });
    (url, server)
}

#[tokio::test]
async fn an_answer_that_never_ends_is_read_to_its_first_mib_and_left() {
    let (url, server) = endless_answer().await;
    let transport = ReqwestTransport::new(&CallPolicy {
        timeout_ms: 20_000,
        attempts: 1,
        backoff_ms: 0,
    })
    .expect("a transport");

    let answer = transport
        .send(&HttpRequest::get(url, "test.endless"))
        .await
        .expect("an answer, not a timeout: the rest is never waited for");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), MAX_ANSWER_BYTES);
    assert!(answer.body.bytes().all(|b| b == b' '));

    // The call is over and its connection dropped: the server's writes fail, long before
    // an endless answer would have been read.
    let written = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops writing once the connection is dropped")
        .expect("the server task");
    assert!(
        written < 64 * MAX_ANSWER_BYTES,
        "{written} bytes written before the client went away"
    );
}
