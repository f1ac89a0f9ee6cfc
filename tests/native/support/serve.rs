//! `threeds-bridge serve` as a child process: [`Serve`] for tests that read what it logs,
//! stop it with SIGTERM or kill it (`kill -9`) and start it again on the same address and
//! store, as an operator's crash would; [`spawn_serve`] for those that only need its URL.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_threeds-bridge");

/// `serve --config config` with `extra` arguments, its output piped: a test may add to it
/// (its environment) before [`Serve::start`].
pub fn serve_command(config: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--config"])
        .arg(config)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts `serve --config config` and returns the process with the URL it printed; its
/// log lines are not kept.
pub fn spawn_serve(config: &Path) -> (Child, String) {
    let mut command = serve_command(config, &[]);
    let mut child = command.stderr(Stdio::null()).spawn().expect("spawn");
    let (_, first) = first_line(&mut child);
    (child, url_in(&first))
}

/// The first line `serve` writes to its standard output, and the rest of that output.
fn first_line(child: &mut Child) -> (BufReader<ChildStdout>, String) {
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    (stdout, first)
}

/// The URL of `… (listening on http://127.0.0.1:port), providers: …`.
fn url_in(first: &str) -> String {
    first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned()
}

/// A `serve` process, every line of its output (both streams) collected as it comes;
/// killed (SIGKILL) when dropped.
pub struct Serve {
    pub child: Child,
    pub url: String,
    /// Its first line of standard output, which names the URL and the providers.
    pub first_line: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `command` (see [`serve_command`]) and waits for the URL it prints first.
    pub fn start(mut command: Command) -> Serve {
        let mut child = command.spawn().expect("spawn");
        let lines = Arc::new(Mutex::new(Vec::new()));
        // Its log lines drained from the start: a full pipe would stop the process.
        collect(
            BufReader::new(child.stderr.take().expect("stderr")),
            lines.clone(),
        );
        let (stdout, first) = first_line(&mut child);
        if !first.contains("listening on ") {
            // It ended before it listened: what it logged says why.
            let status = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "serve did not start ({status:?}): {:?}",
                lines.lock().unwrap()
            );
        }
        let url = url_in(&first);
        let first_line = first.trim_end().to_owned();
        lines.lock().unwrap().push(first_line.clone());
        collect(stdout, lines.clone());
        Serve {
            child,
            url,
            first_line,
            lines,
        }
    }

    /// Every line written so far, in the order they were read.
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line of the output says `what`.
    pub async fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.output().iter().any(|l| l.contains(what)) {
            assert!(Instant::now() < deadline, "serve never said {what:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGTERM, as systemd or Kubernetes would.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// `kill -9`: no shutdown, no flush, as a crash or an OOM kill.
    pub fn kill_9(&mut self) {
        self.signal("-9");
        let _ = self.child.wait();
    }

    fn signal(&self, which: &str) {
        let sent = Command::new("kill")
            .args([which, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {which}");
    }

    /// The exit code, once the process ended (within `limit`, else the test fails).
    pub fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The output threads end at EOF; give them a moment to take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(reader: impl BufRead + Send + 'static, lines: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
}

/// A free loopback port, for a server that must come back on the same one (return URLs
/// are made from its public URL).
///
/// Taken below the kernel's ephemeral range, never from it: a port the kernel handed out
/// for `127.0.0.1:0` is free only until it hands it out again, to one of the many client
/// connections and port-0 listeners the other tests open meanwhile, and `serve` then exits
/// with "address in use". Below that range only a port chosen here can take it, and a
/// counter keeps this process from choosing one twice.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(32_768);
    let (low, span) = (ephemeral_from.saturating_sub(12_000).max(1_024), 10_000);
    // In u64: a pid may be up to 2^22, and times 7,919 that overflows a u32.
    let start = u64::from(std::process::id()) * 7_919 % span;
    (0..span)
        .map(|_| low + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span)
        .filter_map(|port| u16::try_from(port).ok())
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// The `providers` section of a `serve` configuration: each provider in `names` at the
/// sandbox `sandbox`, with the credentials the sandbox takes (each one's `Config::sandbox`).
pub fn sandbox_providers(sandbox: &str, names: &[&str]) -> serde_json::Value {
    use serde_json::json;
    use threeds_bridge::provider::{bambora, dlocal, payroc, paysafe};
    let section = |name: &str| match name {
        "payroc" => {
            let c = payroc::Config::sandbox(sandbox);
            json!({
                "identity_url": c.identity_url,
                "api_url": c.api_url,
                "payments_url": c.payments_url,
                "api_key": c.api_key.expose(),
                "processing_terminal_id": c.processing_terminal_id,
            })
        }
        "dlocal" => {
            let c = dlocal::Config::sandbox(sandbox);
            json!({
                "base_url": c.base_url,
                "x_login": c.x_login,
                "x_trans_key": c.x_trans_key.expose(),
                "secret_key": c.secret_key.expose(),
            })
        }
        "paysafe" => {
            let c = paysafe::Config::sandbox(sandbox);
            json!({
                "base_url": c.base_url,
                "api_user": c.api_user,
                "api_password": c.api_password.expose(),
                "account_id": c.account_id,
            })
        }
        "bambora" => {
            let c = bambora::Config::sandbox(sandbox);
            json!({
                "base_url": c.base_url,
                "merchant_id": c.merchant_id,
                "api_passcode": c.api_passcode.expose(),
                "currency": c.currency,
            })
        }
        other => panic!("no sandbox provider {other}"),
    };
    names
        .iter()
        .map(|name| ((*name).to_owned(), section(name)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
