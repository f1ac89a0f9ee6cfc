//! The help texts: the global one (`threeds-bridge help`, `--help`), and each command's
//! own (`threeds-bridge help serve`, `threeds-bridge serve --help`) with its options and
//! an example. The option lists are checked against the parser by the tests below.

/// A command that has its own help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Serve,
    Reconcile,
    Sandbox,
    Demo,
}

impl Topic {
    pub const ALL: [Topic; 4] = [Topic::Serve, Topic::Reconcile, Topic::Sandbox, Topic::Demo];

    pub fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|topic| topic.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Topic::Serve => "serve",
            Topic::Reconcile => "reconcile",
            Topic::Sandbox => "sandbox",
            Topic::Demo => "demo",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Topic::Serve => SERVE,
            Topic::Reconcile => RECONCILE,
            Topic::Sandbox => SANDBOX,
            Topic::Demo => DEMO,
        }
    }
}

/// The commands, for error messages.
pub const COMMANDS: &str = "serve, reconcile, sandbox or demo";

pub const GLOBAL: &str = "\
threeds-bridge: EMV 3-D Secure checkout backend and provider sandbox

USAGE:
    threeds-bridge <COMMAND> [OPTIONS]
    threeds-bridge help [COMMAND]    this help, or one command's options with an example
    threeds-bridge --version

COMMANDS:
    serve        the merchant backend, from a config file (JSON, or TOML when it ends in .toml)
    reconcile    one sweep of serve's session store, now: payments in doubt looked up,
                 abandoned calls resumed, expired sessions ended
    sandbox      the provider sandbox (Payroc, dLocal, Paysafe, Bambora, issuer ACS)
    demo         the demo checkout page + backend + sandbox, in one process

Run `threeds-bridge help <COMMAND>` or `threeds-bridge <COMMAND> --help` for its options.
serve, sandbox and demo run until stopped (Ctrl-C).
Exit status: 0 done, 1 failed while running, 2 a mistake in the command line or the config.
Docs: docs/operations.md (running it), docs/backend.md, docs/sandbox.md, docs/demo.md.
";

const SERVE: &str = "\
threeds-bridge serve: the merchant backend (payments API, returns, webhooks) with its
reconciler beside it, until stopped.

USAGE:
    threeds-bridge serve --config FILE [--log-format json|text]

OPTIONS:
    --config FILE             the config file: JSON, or TOML when FILE ends in .toml (keys:
                              docs/backend.md, \"Configuration reference\"); a value written
                              { env = \"NAME\" } is read from environment variable NAME
    --log-format json|text    log lines on stderr as JSON objects or as text (default text);
                              RUST_LOG sets the level (default info)
    -h, --help                this help

EXAMPLE:
    MERCHANT_API_KEY=… PAYSAFE_API_PASSWORD=… \\
        threeds-bridge serve --config /etc/threeds-bridge/config.toml

A mistake in the config stops the start with exit status 2 and the key's path:
    threeds-bridge serve: --config config.toml: providers.paysafe.api_usr: unknown key;
    did you mean `api_user`? …
Running it under systemd, backups, key rotation: docs/operations.md.
";

const RECONCILE: &str = "\
threeds-bridge reconcile: one sweep, now, over every session of serve's SQLite or PostgreSQL
store that is due (a payment in doubt looked up, a call a stopped process abandoned resumed,
an expiry), as serve's reconciler would; then one line on stdout: looked at N, settled N,
still in doubt N. Safe beside running serves on the same store.

USAGE:
    threeds-bridge reconcile --config FILE [--log-format json|text]

OPTIONS:
    --config FILE             serve's config file (JSON, or TOML when FILE ends in .toml); its
                              store must be sqlite or postgres (memory is refused)
    --log-format json|text    log lines on stderr as JSON objects or as text (default text);
                              RUST_LOG sets the level (default info)
    -h, --help                this help

EXAMPLE:
    threeds-bridge reconcile --config /etc/threeds-bridge/config.toml
    (after an outage, or from a systemd timer; docs/backend.md, \"Reconciliation\")
";

const SANDBOX: &str = "\
threeds-bridge sandbox: the provider sandbox (Payroc, dLocal, Paysafe, Bambora and an issuer
ACS / DS) on one port, until stopped. Its base URLs are printed at start.

USAGE:
    threeds-bridge sandbox [OPTIONS]

OPTIONS:
    --port PORT               port to listen on (default 8081; 0 picks a free one)
    --host HOST               address to listen on (default 127.0.0.1)
    --public-url URL          origin the browser reaches the sandbox at
                              (default http://HOST:PORT, 127.0.0.1 for 0.0.0.0)
    --faults FILE.json        fault rules to start with: {\"rules\":[...]}, as
                              POST /_sandbox/faults takes them
    --payroc-receipt-url TERMINAL=URL
                              the MPI receipt URL of a Payroc processing terminal
                              (repeatable; default 4479001=http://127.0.0.1:8080/v1/returns/payroc)
    --log-format json|text    log lines on stderr as JSON objects or as text (default text)
    -h, --help                this help

EXAMPLE:
    threeds-bridge sandbox --port 8081 --faults faults.json
(docs/sandbox.md; test cards: docs/sandbox/*.md)
";

const DEMO: &str = "\
threeds-bridge demo: the demo checkout page, the backend and the provider sandbox in one
process, until stopped. It prints its URLs and its merchant API key (demo-merchant-key:
sandbox only), the key its shop creates payments with: POST /v1/payments,
Authorization: Bearer <key>.

USAGE:
    threeds-bridge demo [OPTIONS]

OPTIONS:
    --port PORT               the checkout page and backend (default 8080; 0: a free one)
    --sandbox-port PORT       the provider sandbox (default 8081; 0: a free one)
    --host HOST               address both listen on (default 127.0.0.1)
    --root DIR                the repository with www/ and pkg/ (default: the current
                              directory if it has www/, else the source checkout)
    --database FILE           the sessions' SQLite file (default ROOT/target/demo/sessions.sqlite3)
    --log-format json|text    log lines on stderr as JSON objects or as text (default text)
    -h, --help                this help

EXAMPLE:
    threeds-bridge demo --port 8080 --sandbox-port 8081
    then open http://127.0.0.1:8080 (docs/demo.md)
";

/// The options a help text lists (`--port`, `--config`, …), in order.
#[cfg(test)]
pub fn listed_options(text: &str) -> Vec<&str> {
    let options = text.split("OPTIONS:").nth(1).unwrap_or_default();
    let options = options.split("\n\n").next().unwrap_or_default();
    options
        .lines()
        .filter_map(|line| {
            line.trim_start()
                .strip_prefix("--")
                .map(|_| line.trim_start())
        })
        .filter_map(|line| line.split([' ', ',']).next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_command_s_help_lists_its_own_options_and_an_example() {
        let own = |topic: Topic| match topic {
            Topic::Serve | Topic::Reconcile => vec!["--config", "--log-format"],
            Topic::Sandbox => vec![
                "--port",
                "--host",
                "--public-url",
                "--faults",
                "--payroc-receipt-url",
                "--log-format",
            ],
            Topic::Demo => vec![
                "--port",
                "--sandbox-port",
                "--host",
                "--root",
                "--database",
                "--log-format",
            ],
        };
        for topic in Topic::ALL {
            let text = topic.text();
            assert_eq!(listed_options(text), own(topic), "{topic:?}");
            assert!(
                text.starts_with(&format!("threeds-bridge {}: ", topic.name())),
                "{topic:?}"
            );
            let usage = format!("USAGE:\n    threeds-bridge {} ", topic.name());
            assert!(text.contains(&usage), "{topic:?}");
            let example = text.split("EXAMPLE:\n").nth(1).expect("an example");
            assert!(
                example.contains(&format!("threeds-bridge {}", topic.name())),
                "{topic:?}"
            );
            assert!(text.contains("-h, --help"), "{topic:?}");
        }
        // Not the global help: no other command's options.
        assert!(!Topic::Serve.text().contains("--sandbox-port"));
        assert!(!Topic::Sandbox.text().contains("--config"));
    }

    #[test]
    fn the_global_help_names_every_command() {
        for topic in Topic::ALL {
            assert!(
                GLOBAL.contains(&format!("\n    {:<13}", topic.name())),
                "{topic:?}"
            );
        }
        assert!(GLOBAL.contains("threeds-bridge help [COMMAND]"));
    }
}
