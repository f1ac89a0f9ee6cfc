//! `help`, `help COMMAND` and `COMMAND --help` as the parser reads them, and each help
//! text's options as the parser takes them.

use super::help::{listed_options, Topic};
use super::{parse, take_log_format, Command};

fn args(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn help_alone_is_the_global_help() {
    for line in ["help", "--help", "-h"] {
        assert_eq!(parse(&args(line)), Ok(Command::Help(None)), "{line}");
    }
}

#[test]
fn each_command_has_its_own_help_both_ways() {
    for topic in Topic::ALL {
        let name = topic.name();
        for line in [
            format!("help {name}"),
            format!("{name} --help"),
            format!("{name} -h"),
        ] {
            assert_eq!(
                parse(&args(&line)),
                Ok(Command::Help(Some(topic))),
                "{line}"
            );
        }
    }
    // `--help` wins over the rest of the line, even a mistake in it.
    assert_eq!(
        parse(&args("serve --config x.toml --bogus --help")),
        Ok(Command::Help(Some(Topic::Serve)))
    );
}

#[test]
fn help_for_an_unknown_command_is_an_error() {
    for line in ["help launch", "launch --help", "help serve demo"] {
        let error = parse(&args(line)).expect_err(line);
        assert!(
            error.contains("unknown command \"launch\"") || error.contains("one command"),
            "{line}: {error}"
        );
    }
    assert!(parse(&args("help launch"))
        .unwrap_err()
        .contains("expected serve, reconcile, sandbox or demo"));
}

#[test]
fn every_option_a_help_lists_is_one_its_command_takes() {
    for topic in Topic::ALL {
        for option in listed_options(topic.text()) {
            let value = match option {
                "--log-format" => "json",
                "--port" | "--sandbox-port" => "0",
                "--payroc-receipt-url" => "1=http://127.0.0.1:8080/r",
                "--public-url" => "http://127.0.0.1:8081",
                _ => "x",
            };
            // main() takes `--log-format` out for every command before `parse` sees the rest.
            let mut line = format!("{} {option} {value}", topic.name());
            // Beside the one option, what the command cannot go without.
            let needs_config = parse(&args(&format!("{} --config x", topic.name()))).is_ok();
            if needs_config && option != "--config" {
                line.push_str(" --config x");
            }
            let (_, rest) = take_log_format(args(&line)).expect(&line);
            assert!(parse(&rest).is_ok(), "{line}: {:?}", parse(&rest));
        }
    }
}
