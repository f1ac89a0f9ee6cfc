//! The native host: `threeds-bridge sandbox | serve | reconcile | demo | help`.
//!
//! Arguments are parsed by hand (a handful of options does not need a parser crate);
//! every mistake gets a one-line error naming the option, and exit status 2. The help
//! texts, global and per command, are in `threeds-bridge/help.rs`.

#[path = "threeds-bridge/help.rs"]
mod help;

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use threeds_bridge::backend::native::logs::{self, LogFormat};
use threeds_bridge::backend::native::ServeConfig;
use threeds_bridge::demo::DemoOptions;
use threeds_bridge::sandbox::faults::FaultSet;
use threeds_bridge::sandbox::{spawn, SandboxConfig};

use help::Topic;

/// mimalloc, not glibc's malloc: under `serve`'s load glibc's allocator (its arenas,
/// `malloc_consolidate`) was about a fifth of the process's CPU (perf, 2026-12-03;
/// docs/backend/store-performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The sandbox's base URLs, as in ../shared/contract.md.
const BASES: [(&str, &str); 9] = [
    ("Payroc identity", "/payroc/identity"),
    ("Payroc API", "/payroc/api/v1"),
    ("Payroc MPI", "/payroc/payments"),
    ("dLocal", "/dlocal"),
    ("Paysafe", "/paysafe"),
    ("Bambora", "/bambora"),
    ("issuer ACS / DS", "/acs"),
    ("ledger", "/_sandbox/ledger"),
    ("faults", "/_sandbox/faults"),
];

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    /// `None`: the global help.
    Help(Option<Topic>),
    Version,
    Sandbox(SandboxArgs),
    Serve {
        config: String,
    },
    Reconcile {
        config: String,
    },
    Demo(DemoOptions),
}

#[derive(Debug, PartialEq)]
struct SandboxArgs {
    host: String,
    port: u16,
    public_url: Option<String>,
    faults: Option<String>,
    payroc_receipt_urls: Vec<(String, String)>,
}

fn main() -> ExitCode {
    // `std::env::args` panics on an argument that is not UTF-8: a usage mistake here.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let Ok(args) = args else {
        eprintln!("threeds-bridge: an argument is not valid UTF-8\nRun `threeds-bridge --help` for usage.");
        return ExitCode::from(2);
    };
    let (log_format, args) = match take_log_format(args) {
        Ok(split) => split,
        Err(message) => {
            eprintln!("threeds-bridge: {message}\nRun `threeds-bridge --help` for usage.");
            return ExitCode::from(2);
        }
    };
    let command = parse(&args);
    start_logs(&command, log_format);
    match command {
        Ok(Command::Help(topic)) => {
            print!("{}", topic.map_or(help::GLOBAL, Topic::text));
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("threeds-bridge {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Demo(options)) => run_demo(options),
        Ok(Command::Sandbox(args)) => run_sandbox(args),
        Ok(Command::Serve { config }) => run_serve(&config),
        Ok(Command::Reconcile { config }) => run_reconcile(&config),
        Err(message) => {
            let help = match args.first().and_then(|name| Topic::from_name(name)) {
                Some(topic) => format!("threeds-bridge help {}", topic.name()),
                None => "threeds-bridge help".to_owned(),
            };
            eprintln!("threeds-bridge: {message}\nRun `{help}` for usage.");
            ExitCode::from(2)
        }
    }
}

/// `--log-format json|text` (or `--log-format=…`), taken out wherever it stands: every
/// command has it (docs/operations.md, "Logs").
fn take_log_format(args: Vec<String>) -> Result<(Option<LogFormat>, Vec<String>), String> {
    let mut format = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--log-format" {
            args.next()
                .ok_or_else(|| "--log-format needs a value: text or json".to_owned())?
        } else if let Some(value) = arg.strip_prefix("--log-format=") {
            value.to_owned()
        } else {
            rest.push(arg);
            continue;
        };
        format = Some(LogFormat::parse(&value)?);
    }
    Ok((format, rest))
}

/// Log lines on stderr: always for `serve` and `reconcile` (text unless asked), for
/// `demo` and `sandbox` when `--log-format` asks for them.
fn start_logs(command: &Result<Command, String>, format: Option<LogFormat>) {
    match (command, format) {
        (Ok(Command::Serve { .. } | Command::Reconcile { .. }), format) => {
            logs::init(format.unwrap_or_default())
        }
        (Ok(Command::Demo(_) | Command::Sandbox(_)), Some(format)) => logs::init(format),
        _ => {}
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err(format!("a command is required: {}", help::COMMANDS));
    };
    let asks_help = |args: &[String]| args.iter().any(|a| a == "--help" || a == "-h");
    match command.as_str() {
        "--help" | "-h" => Ok(Command::Help(None)),
        "--version" | "-V" => Ok(Command::Version),
        "help" => parse_help(rest),
        name if asks_help(rest) => match Topic::from_name(name) {
            Some(topic) => Ok(Command::Help(Some(topic))),
            None => Err(unknown_command(name)),
        },
        "sandbox" => parse_sandbox(rest).map(Command::Sandbox),
        "serve" => parse_config_arg("serve", rest).map(|config| Command::Serve { config }),
        "reconcile" => {
            parse_config_arg("reconcile", rest).map(|config| Command::Reconcile { config })
        }
        "demo" => parse_demo(rest).map(Command::Demo),
        other => Err(unknown_command(other)),
    }
}

/// `help` (the global help) or `help COMMAND` (that command's).
fn parse_help(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Help(None)),
        [name] => Topic::from_name(name)
            .map(|topic| Command::Help(Some(topic)))
            .ok_or_else(|| unknown_command(name)),
        [_, extra, ..] => Err(format!("help takes one command, not also {extra:?}")),
    }
}

fn unknown_command(name: &str) -> String {
    format!("unknown command {name:?}: expected {}", help::COMMANDS)
}

fn parse_sandbox(args: &[String]) -> Result<SandboxArgs, String> {
    let mut parsed = SandboxArgs {
        host: "127.0.0.1".to_owned(),
        port: 8081,
        public_url: None,
        faults: None,
        payroc_receipt_urls: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        // `--name value` or `--name=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--port" => {
                let text = value()?;
                parsed.port = text
                    .parse()
                    .map_err(|_| format!("--port {text:?} is not a port number (0 to 65535)"))?;
            }
            "--host" => parsed.host = value()?,
            "--public-url" => {
                let url = value()?;
                if !is_http_url(&url) {
                    return Err(format!(
                        "--public-url {url:?} must start with http:// or https://"
                    ));
                }
                parsed.public_url = Some(url.trim_end_matches('/').to_owned());
            }
            "--faults" => parsed.faults = Some(value()?),
            "--payroc-receipt-url" => {
                let text = value()?;
                let (terminal, url) = text
                    .split_once('=')
                    .filter(|(terminal, url)| !terminal.is_empty() && is_http_url(url))
                    .ok_or_else(|| {
                        format!("--payroc-receipt-url {text:?} must be TERMINAL=http(s)://…")
                    })?;
                parsed
                    .payroc_receipt_urls
                    .push((terminal.to_owned(), url.to_owned()));
            }
            other => return Err(format!("unknown option {other:?} for `sandbox`")),
        }
    }
    Ok(parsed)
}

fn parse_demo(args: &[String]) -> Result<DemoOptions, String> {
    let mut options = DemoOptions::new(default_root());
    let mut database = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let port = |text: String| {
            text.parse::<u16>()
                .map_err(|_| format!("{name} {text:?} is not a port number (0 to 65535)"))
        };
        match name {
            "--port" => options.port = port(value()?)?,
            "--sandbox-port" => options.sandbox_port = port(value()?)?,
            "--host" => options.host = value()?,
            "--root" => options.root = value()?.into(),
            "--database" => database = Some(value()?.into()),
            other => return Err(format!("unknown option {other:?} for `demo`")),
        }
    }
    options.database = database.unwrap_or_else(|| DemoOptions::new(options.root.clone()).database);
    Ok(options)
}

/// The current directory when it is a checkout (has www/), else the one this binary was
/// built from.
fn default_root() -> std::path::PathBuf {
    match std::env::current_dir() {
        Ok(dir) if dir.join("www/index.html").is_file() => dir,
        _ => env!("CARGO_MANIFEST_DIR").into(),
    }
}

fn run_demo(options: DemoOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            logs::fail(&format!(
                "threeds-bridge demo: cannot start the runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(threeds_bridge::demo::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            logs::fail(&format!("threeds-bridge demo: {message}"));
            ExitCode::FAILURE
        }
    }
}

/// `--config FILE` (or `--config=FILE`), the one option of `serve` and `reconcile`.
fn parse_config_arg(command: &str, args: &[String]) -> Result<String, String> {
    match args {
        [flag, path] if flag == "--config" => Ok(path.clone()),
        [flag] if flag.starts_with("--config=") => Ok(flag["--config=".len()..].to_owned()),
        [flag] if flag == "--config" => Err("--config needs a value".to_owned()),
        [] => Err(format!("{command} needs --config FILE")),
        [other, ..] => Err(format!("unknown option {other:?} for `{command}`")),
    }
}

/// The config file of `serve` or `reconcile`, with log lines to stderr (RUST_LOG,
/// default info) and a runtime; `Err` is the exit status, its message already printed.
fn backend_host(
    command: &str,
    path: &str,
) -> Result<(ServeConfig, tokio::runtime::Runtime), ExitCode> {
    let config = ServeConfig::load(path).map_err(|message| {
        logs::fail(&format!(
            "threeds-bridge {command}: --config {path}: {message}"
        ));
        ExitCode::from(2)
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            logs::fail(&format!(
                "threeds-bridge {command}: cannot start the runtime: {error}"
            ));
            ExitCode::FAILURE
        })?;
    Ok((config, runtime))
}

/// `threeds-bridge serve`: the backend, its reconciler beside it, until Ctrl-C.
fn run_serve(path: &str) -> ExitCode {
    let (config, runtime) = match backend_host("serve", path) {
        Ok(host) => host,
        Err(status) => return status,
    };
    match runtime.block_on(threeds_bridge::backend::native::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            logs::fail(&format!("threeds-bridge serve: {message}"));
            ExitCode::FAILURE
        }
    }
}

/// `threeds-bridge reconcile`: one sweep of the store, then its summary on stdout.
fn run_reconcile(path: &str) -> ExitCode {
    let (config, runtime) = match backend_host("reconcile", path) {
        Ok(host) => host,
        Err(status) => return status,
    };
    match runtime.block_on(threeds_bridge::backend::native::reconcile(&config)) {
        Ok(swept) => {
            let failed = match swept.failed {
                0 => String::new(),
                n => format!(", failed {n}"),
            };
            logs::announce(&format!(
                "threeds-bridge reconcile: looked at {}, settled {}, still in doubt {}{failed}",
                swept.looked_at, swept.settled, swept.in_doubt
            ));
            if swept.failed == 0 {
                return ExitCode::SUCCESS;
            }
            // Each is in a warning above, with its id; the next sweep tries them again.
            logs::fail("threeds-bridge reconcile: the session store failed on some due payments");
            ExitCode::FAILURE
        }
        Err(message) => {
            logs::fail(&format!("threeds-bridge reconcile: {message}"));
            ExitCode::FAILURE
        }
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

fn run_sandbox(args: SandboxArgs) -> ExitCode {
    let mut config = SandboxConfig::new(args.public_url.clone().unwrap_or_default());
    config
        .payroc_receipt_urls
        .extend(args.payroc_receipt_urls.iter().cloned());
    if let Some(path) = &args.faults {
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|text| FaultSet::from_json(&text))
        {
            Ok(set) => config.faults = set.rules,
            Err(message) => {
                logs::fail(&format!(
                    "threeds-bridge sandbox: --faults {path}: {message}"
                ));
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            logs::fail(&format!(
                "threeds-bridge sandbox: cannot start the runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve_sandbox(args, config))
}

async fn serve_sandbox(args: SandboxArgs, mut config: SandboxConfig) -> ExitCode {
    let listener = match bind(&args.host, args.port).await {
        Ok(listener) => listener,
        Err(error) => {
            logs::fail(&format!(
                "threeds-bridge sandbox: cannot listen on {}:{}: {error}",
                args.host, args.port
            ));
            return ExitCode::FAILURE;
        }
    };
    let local = match listener.local_addr() {
        Ok(local) => local,
        Err(error) => {
            logs::fail(&format!("threeds-bridge sandbox: {error}"));
            return ExitCode::FAILURE;
        }
    };
    if config.public_url.is_empty() {
        config.public_url = default_public_url(local);
    }
    let rules = config.faults.len();
    let running = match spawn(listener, config).await {
        Ok(running) => running,
        Err(error) => {
            logs::fail(&format!("threeds-bridge sandbox: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let public = running.sandbox.config.public_url.clone();
    logs::announce(&format!(
        "threeds-bridge sandbox: serving {public} (listening on {local})"
    ));
    for (name, path) in BASES {
        logs::announce(&format!("  {name:<16} {public}{path}"));
    }
    if rules > 0 {
        logs::announce(&format!(
            "  {rules} fault rule(s) loaded from {}",
            args.faults.unwrap_or_default()
        ));
    }
    logs::announce("Press Ctrl-C to stop.");
    if let Err(error) = threeds_bridge::backend::native::shutdown::signal().await {
        logs::fail(&format!("threeds-bridge sandbox: {error}"));
        return ExitCode::FAILURE;
    }
    // No graceful drain: a hung request (fault `hang`) would hold the exit for an hour.
    logs::announce("threeds-bridge sandbox: stopped");
    ExitCode::SUCCESS
}

async fn bind(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    match host.parse::<IpAddr>() {
        Ok(ip) => tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await,
        Err(_) => tokio::net::TcpListener::bind((host, port)).await,
    }
}

/// The origin a browser on this machine uses: the listening address, with a wildcard
/// address replaced by loopback.
fn default_public_url(local: SocketAddr) -> String {
    match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => format!("http://127.0.0.1:{}", local.port()),
        ip if ip.is_unspecified() => format!("http://[::1]:{}", local.port()),
        _ => format!("http://{local}"),
    }
}

#[cfg(test)]
#[path = "threeds-bridge/help_tests.rs"]
mod help_tests;

#[cfg(test)]
#[path = "threeds-bridge/parse_tests.rs"]
mod parse_tests;
