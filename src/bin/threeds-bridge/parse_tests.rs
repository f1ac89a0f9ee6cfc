//! The command line as `parse` reads it: the sandbox's and the demo's options, mistakes
//! named, `--log-format` wherever it stands, and the URL a sandbox listening on a wildcard
//! address is reached at.

use super::*;

fn args(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn sandbox_options() {
    let Ok(Command::Sandbox(parsed)) = parse(&args(
        "sandbox --port=9000 --host 0.0.0.0 --public-url http://sandbox.test/ \
         --faults f.json --payroc-receipt-url 1=http://a/r --payroc-receipt-url 2=https://b/r",
    )) else {
        panic!("not parsed");
    };
    assert_eq!(parsed.port, 9000);
    assert_eq!(parsed.host, "0.0.0.0");
    assert_eq!(parsed.public_url.as_deref(), Some("http://sandbox.test"));
    assert_eq!(parsed.faults.as_deref(), Some("f.json"));
    assert_eq!(parsed.payroc_receipt_urls.len(), 2);
    let Ok(Command::Sandbox(defaults)) = parse(&args("sandbox")) else {
        panic!("not parsed");
    };
    assert_eq!((defaults.host.as_str(), defaults.port), ("127.0.0.1", 8081));
}

#[test]
fn mistakes_are_named() {
    for (line, says) in [
        ("", "a command is required"),
        ("launch", "unknown command"),
        ("sandbox --port", "--port needs a value"),
        ("sandbox --port 70000", "not a port number"),
        ("sandbox --verbose", "unknown option \"--verbose\""),
        ("sandbox --public-url ftp://x", "must start with http"),
        ("sandbox --payroc-receipt-url 4479001", "TERMINAL="),
    ] {
        let error = parse(&args(line)).expect_err(line);
        assert!(error.contains(says), "{line}: {error}");
    }
    assert_eq!(
        parse(&args("sandbox --port 1 --help")),
        Ok(Command::Help(Some(Topic::Sandbox)))
    );
    assert_eq!(
        parse(&args("serve --config x.toml")),
        Ok(Command::Serve {
            config: "x.toml".into()
        })
    );
    assert!(parse(&args("serve")).unwrap_err().contains("--config"));
    assert_eq!(
        parse(&args("reconcile --config=x.toml")),
        Ok(Command::Reconcile {
            config: "x.toml".into()
        })
    );
    assert!(parse(&args("reconcile"))
        .unwrap_err()
        .contains("reconcile needs --config"));
    assert!(parse(&args("reconcile --all"))
        .unwrap_err()
        .contains("unknown option \"--all\" for `reconcile`"));
    assert!(parse(&args("serve --port 1"))
        .unwrap_err()
        .contains("--port"));
    assert!(parse(&args("demo --sandbox-port x"))
        .unwrap_err()
        .contains("--sandbox-port \"x\" is not a port"));
    assert!(parse(&args("demo --verbose"))
        .unwrap_err()
        .contains("unknown option \"--verbose\" for `demo`"));
}

#[test]
fn the_log_format_is_taken_wherever_it_stands() {
    let (format, rest) =
        take_log_format(args("serve --log-format json --config x.toml")).expect("parsed");
    assert_eq!(format, Some(LogFormat::Json));
    assert_eq!(rest, args("serve --config x.toml"));
    let (format, rest) = take_log_format(args("demo --port 0 --log-format=text")).expect("parsed");
    assert_eq!(
        (format, rest),
        (Some(LogFormat::Text), args("demo --port 0"))
    );
    assert_eq!(take_log_format(args("sandbox")).expect("parsed").0, None);
    assert!(take_log_format(args("serve --log-format"))
        .unwrap_err()
        .contains("text or json"));
    assert!(take_log_format(args("serve --log-format yaml"))
        .unwrap_err()
        .contains("\"yaml\""));
}

#[test]
fn demo_options() {
    let Ok(Command::Demo(defaults)) = parse(&args("demo")) else {
        panic!("not parsed");
    };
    assert_eq!((defaults.port, defaults.sandbox_port), (8080, 8081));
    assert!(defaults.database.starts_with(&defaults.root));
    let Ok(Command::Demo(options)) = parse(&args(
        "demo --port 0 --sandbox-port=0 --root /r --database /tmp/d.sqlite3",
    )) else {
        panic!("not parsed");
    };
    assert_eq!((options.port, options.sandbox_port), (0, 0));
    assert_eq!(options.root, std::path::PathBuf::from("/r"));
    assert_eq!(options.database, std::path::PathBuf::from("/tmp/d.sqlite3"));
    let Ok(Command::Demo(rooted)) = parse(&args("demo --root /r")) else {
        panic!("not parsed");
    };
    assert_eq!(
        rooted.database,
        std::path::PathBuf::from("/r/target/demo/sessions.sqlite3")
    );
}

#[test]
fn wildcard_listeners_are_reached_on_loopback() {
    let v4: SocketAddr = "0.0.0.0:8081".parse().unwrap();
    assert_eq!(default_public_url(v4), "http://127.0.0.1:8081");
    let v6: SocketAddr = "[::]:8081".parse().unwrap();
    assert_eq!(default_public_url(v6), "http://[::1]:8081");
    let lo: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(default_public_url(lo), "http://127.0.0.1:9");
}
