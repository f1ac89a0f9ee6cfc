//! The log lines of the native commands, on stderr: `--log-format text` (the default,
//! for a terminal) or `--log-format json` (one JSON object a line, for a collector). The
//! level comes from `RUST_LOG` (default `info`). In JSON, a line within a request carries
//! the spans it runs in under `spans`: `request` (request id, trace id, method, path),
//! `drive` (payment, provider) and `call` (provider, step); docs/operations.md, "Logs".

use std::sync::OnceLock;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `text` or `json`, as `--log-format` takes it.
    pub fn parse(text: &str) -> Result<LogFormat, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "--log-format {other:?} is not a log format: text or json"
            )),
        }
    }
}

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the process's log writer (once; a second call changes nothing).
pub fn init(format: LogFormat) {
    if FORMAT.set(format).is_err() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
}

/// Prints what a command tells its operator on start (its URLs) on stdout: as it is in
/// text, as a JSON line of the log's shape (`fields.message`) in JSON, so that every line
/// the process writes parses.
pub fn announce(text: &str) {
    match format() {
        LogFormat::Text => println!("{text}"),
        LogFormat::Json => println!("{}", json_line("INFO", text)),
    }
}

/// Prints why a command cannot go on (a config mistake, a port it cannot listen on) on
/// stderr: as it is in text, as a JSON line (level `ERROR`) in JSON. Not through the log
/// writer: `RUST_LOG` must not be able to silence why a process stopped.
pub fn fail(text: &str) {
    match format() {
        LogFormat::Text => eprintln!("{text}"),
        LogFormat::Json => eprintln!("{}", json_line("ERROR", text)),
    }
}

/// Prints a warning of a command's start (the demo's missing pkg/) on stderr, as [`fail`].
pub fn warn(text: &str) {
    match format() {
        LogFormat::Text => eprintln!("{text}"),
        LogFormat::Json => eprintln!("{}", json_line("WARN", text)),
    }
}

/// The format [`init`] installed; text when none was.
fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// A line of the JSON log's shape (`timestamp`, `level`, `fields.message`, `target`).
fn json_line(level: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "timestamp": now_rfc3339(),
        "level": level,
        "target": "threeds_bridge::announce",
        "fields": { "message": text },
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named() {
        assert_eq!(LogFormat::parse("json"), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Ok(LogFormat::Text));
        assert!(LogFormat::parse("xml")
            .unwrap_err()
            .contains("text or json"));
    }
}
