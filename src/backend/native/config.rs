//! The config file of `threeds-bridge serve --config FILE` and `reconcile`: JSON, or TOML
//! when the name ends in `.toml`; any value written `{ env = "NAME" }` is read from the
//! environment variable NAME (secrets stay out of the file).

use std::str::FromStr;

use serde::Deserialize;

use super::ConfirmRateLimit;
use crate::backend::auth::ApiKey;
use crate::backend::config::{BackendConfig, CallPolicy, ProvidersConfig, ReconcilePolicy};
use crate::provider::Secret;

/// Where sessions live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// In memory: lost on restart (tests, demos).
    #[default]
    Memory,
    /// One SQLite file, created on first start: one instance.
    Sqlite { path: String },
    /// A PostgreSQL database that several instances share (docs/backend/store.md).
    Postgres {
        /// `postgresql://user:password@host:port/db`: a secret, best `{ env = "NAME" }`.
        url: Secret,
        /// The PostgreSQL schema of the tables (default `threeds_bridge`).
        #[serde(default)]
        schema: Option<String>,
        /// Connections per instance (default 8).
        #[serde(default)]
        pool_size: Option<usize>,
    },
}

/// `threeds-bridge serve --config FILE`: the core's configuration plus where to listen
/// and where sessions live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// `127.0.0.1:8080`.
    pub listen: String,
    #[serde(default)]
    pub store: StoreConfig,
    pub public_url: String,
    pub checkout_origins: Vec<String>,
    pub merchant_api_keys: Vec<ApiKey>,
    #[serde(default)]
    pub max_confirm_attempts: Option<u32>,
    #[serde(default)]
    pub session_ttl_seconds: Option<u64>,
    #[serde(default)]
    pub calls: CallPolicy,
    #[serde(default)]
    pub reconcile: ReconcilePolicy,
    /// Confirms per client IP (`per_minute = 0`: no limit here, e.g. behind a proxy that
    /// limits).
    #[serde(default)]
    pub confirm_rate_limit: ConfirmRateLimit,
    pub providers: ProvidersConfig,
    #[serde(default)]
    pub webhooks: crate::backend::webhooks::WebhooksConfig,
}

impl ServeConfig {
    /// Reads a config file: TOML when it ends in `.toml`, JSON otherwise. Any value
    /// written `{ env = "NAME" }` is taken from the environment variable NAME.
    pub fn load(path: &str) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        ServeConfig::parse(&text, path.ends_with(".toml"), &|name| {
            std::env::var(name).ok()
        })
    }

    pub fn parse(
        text: &str,
        toml: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, String> {
        let mut value: serde_json::Value = if toml {
            toml::from_str(text).map_err(|e| toml_error(text, &e))?
        } else {
            crate::backend::config_errors::json_value(text).map_err(|e| e.to_string())?
        };
        crate::backend::config_errors::resolve_refs(&mut value, env, "environment variable", "")?;
        // Errors name the key's path; values (secrets) are not echoed.
        let config: ServeConfig = crate::backend::config_errors::parse(value)?;
        config.backend().validate()?;
        config.check_host()?;
        Ok(config)
    }

    /// What only the native host reads, checked before anything starts, as the core's
    /// keys are: a mistake here is a config mistake (exit 2), not a failure to start.
    fn check_host(&self) -> Result<(), String> {
        let port = self
            .listen
            .rsplit_once(':')
            .filter(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if port.is_none() {
            return Err("listen: not HOST:PORT (such as 127.0.0.1:8080 or [::]:8080)".to_owned());
        }
        if let StoreConfig::Postgres { url, schema, .. } = &self.store {
            if let Some(schema) = schema {
                super::postgres::check_schema_name(schema).map_err(|e| match e {
                    crate::store::StoreError::Unavailable(why) => format!("store.schema: {why}"),
                    other => format!("store.schema: {other}"),
                })?;
            }
            // The driver's message names the part it could not read, never the URL.
            tokio_postgres::Config::from_str(url.expose())
                .map_err(|e| format!("store.url: not a PostgreSQL URL: {e}"))?;
        }
        Ok(())
    }

    pub fn backend(&self) -> BackendConfig {
        BackendConfig {
            public_url: self.public_url.clone(),
            checkout_origins: self.checkout_origins.clone(),
            merchant_api_keys: self.merchant_api_keys.clone(),
            max_confirm_attempts: self.max_confirm_attempts.unwrap_or(3),
            session_ttl_seconds: self.session_ttl_seconds.unwrap_or(30 * 60),
            calls: self.calls,
            reconcile: self.reconcile,
            providers: self.providers.clone(),
            webhooks: self.webhooks.clone(),
        }
    }
}

/// `not valid TOML at line N: what`: toml's own rendering quotes the line, which may hold
/// a secret written in the file, so only its message and the line number are kept.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let line = 1 + text[..span.start.min(text.len())].matches('\n').count();
            format!("not valid TOML at line {line}: {}", error.message())
        }
        None => format!("not valid TOML: {}", error.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Paysafe-only config whose merchant key and password come from the environment;
    /// its last table is `[providers.paysafe]`, so a line appended goes there.
    const PAYSAFE: &str = r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = [{ env = "MERCHANT_API_KEY" }]
[providers.paysafe]
base_url = "http://127.0.0.1:8081/paysafe"
api_user = "u"
api_password = { env = "PAYSAFE_PASSWORD" }
account_id = "89987201"
"#;

    /// A mistaken value is never echoed, even one written to look like the end of serde's
    /// message (a secret pasted into the wrong key, say).
    #[test]
    fn a_mistaken_value_is_not_echoed_even_one_that_says_expected() {
        let env = |name: &str| Some(format!("{name}-0123456789"));
        for (line, names) in [
            (
                "[calls]\ntimeout_ms = \"x, expected hunter2\"",
                "calls.timeout_ms: wrong type",
            ),
            ("[store]\nkind = \"x, expected `hunter2`\"", "store.kind"),
        ] {
            let text = format!("{PAYSAFE}{line}\n");
            let refused = ServeConfig::parse(&text, true, &env).expect_err(line);
            assert!(refused.contains(names), "{line}: {refused}");
            assert!(!refused.contains("hunter2"), "{line}: {refused}");
        }
    }

    #[test]
    fn secrets_come_from_the_environment() {
        let text = PAYSAFE;
        let env = |name: &str| match name {
            "PAYSAFE_PASSWORD" => Some("s3cret".to_owned()),
            "MERCHANT_API_KEY" => Some("merchant-key-0123456789".to_owned()),
            _ => None,
        };
        let config = ServeConfig::parse(text, true, &env).expect("parses");
        assert_eq!(
            config
                .providers
                .paysafe
                .expect("paysafe")
                .api_password
                .expose(),
            "s3cret"
        );
        assert_eq!(config.merchant_api_keys.len(), 1);
        let only_key = |name: &str| (name == "MERCHANT_API_KEY").then(|| "k".repeat(20));
        let missing = ServeConfig::parse(text, true, &only_key).expect_err("missing variable");
        assert_eq!(
            missing,
            "providers.paysafe.api_password: environment variable PAYSAFE_PASSWORD is not set"
        );
        assert!(!missing.contains("s3cret"));
        // Set to nothing (`PAYSAFE_PASSWORD=` in a unit file) is as good as not set.
        let empty = |name: &str| match name {
            "PAYSAFE_PASSWORD" => Some(String::new()),
            other => only_key(other),
        };
        assert_eq!(
            ServeConfig::parse(text, true, &empty).expect_err("empty variable"),
            "providers.paysafe.api_password: environment variable PAYSAFE_PASSWORD is empty"
        );
    }

    /// A key written twice stops the start in both formats, by its line: TOML's reader
    /// refuses it itself, the JSON one by `config_errors::json_value`.
    #[test]
    fn a_key_given_twice_is_refused_in_toml_and_in_json() {
        let env = |name: &str| Some(format!("{name}-0123456789"));
        let toml = format!("{PAYSAFE}account_id = \"11111111\"\n");
        let refused = ServeConfig::parse(&toml, true, &env).expect_err("twice");
        assert!(
            refused.starts_with("not valid TOML at line 11"),
            "{refused}"
        );
        assert!(!refused.contains("11111111"), "{refused}");
        assert!(ServeConfig::parse(PAYSAFE, true, &env).is_ok());

        let json = r#"{"listen": "127.0.0.1:0", "public_url": "http://127.0.0.1:8080",
            "checkout_origins": ["http://127.0.0.1:8080"],
            "merchant_api_keys": ["merchant-key-0123456789"], "listen": "127.0.0.1:1"}"#;
        let refused = ServeConfig::parse(json, false, &env).expect_err("twice");
        assert_eq!(refused, "listen: given twice (line 3)");
    }

    #[test]
    fn webhook_endpoints_take_their_secret_from_the_environment_and_are_checked() {
        let config = |url: &str| {
            format!(
                r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = ["merchant-key-0123456789"]
[providers]
[[webhooks.endpoints]]
url = "{url}"
secret = {{ env = "WEBHOOK_SECRET" }}
"#
            )
        };
        let env = |name: &str| (name == "WEBHOOK_SECRET").then(|| "w".repeat(32));
        let parsed =
            ServeConfig::parse(&config("https://shop.test/hooks"), true, &env).expect("parses");
        let backend = parsed.backend();
        let endpoint = &backend.webhooks.endpoints[0];
        assert_eq!(endpoint.secret.expose(), "w".repeat(32));
        assert!(
            !format!("{backend:?}").contains(&"w".repeat(32)),
            "Debug hides it"
        );
        let refused = ServeConfig::parse(&config("http://shop.test/hooks"), true, &env)
            .expect_err("plain http off loopback");
        assert!(
            refused.starts_with("webhooks.endpoints[0].url: "),
            "{refused}"
        );
        let short = |name: &str| (name == "WEBHOOK_SECRET").then(|| "short".to_owned());
        let refused = ServeConfig::parse(&config("https://shop.test/hooks"), true, &short)
            .expect_err("a short secret");
        assert!(
            refused.starts_with("webhooks.endpoints[0].secret: "),
            "{refused}"
        );
        assert!(!refused.contains("short\""), "{refused}");
    }

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../../examples/backend-sandbox.toml");
        let env = |name: &str| Some(format!("value-of-{name}"));
        let config = ServeConfig::parse(text, true, &env).expect("examples/backend-sandbox.toml");
        assert_eq!(
            config.store,
            StoreConfig::Sqlite {
                path: "target/threeds-bridge.sqlite3".into()
            }
        );
        let backend = config.backend();
        assert_eq!(backend.reconcile, ReconcilePolicy::default());
        assert!(backend.allows_origin("http://127.0.0.1:8080"));
        let payroc = backend.providers.payroc.expect("payroc");
        assert_eq!(payroc.api_key.expose(), "value-of-PAYROC_API_KEY");
        assert!(backend.providers.dlocal.is_some() && backend.providers.paysafe.is_some());
        let bambora = backend.providers.bambora.expect("bambora");
        assert_eq!(
            bambora.api_passcode.expose(),
            "value-of-BAMBORA_API_PASSCODE"
        );
    }

    #[test]
    fn a_postgres_store_takes_its_url_from_the_environment_and_never_prints_it() {
        let text = r#"
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
checkout_origins = ["http://127.0.0.1:8080"]
merchant_api_keys = ["merchant-key-0123456789"]
[store]
kind = "postgres"
url = { env = "DATABASE_URL" }
schema = "payments_eu"
[providers]
"#;
        let url = "postgresql://bridge:pg-s3cret@db.internal/payments";
        let env = |name: &str| (name == "DATABASE_URL").then(|| url.to_owned());
        let config = ServeConfig::parse(text, true, &env).expect("parses");
        let StoreConfig::Postgres {
            url: parsed,
            schema,
            pool_size,
        } = &config.store
        else {
            panic!("not postgres: {:?}", config.store);
        };
        assert_eq!(parsed.expose(), url);
        assert_eq!(schema.as_deref(), Some("payments_eu"));
        assert_eq!(*pool_size, None);
        assert!(!format!("{config:?}").contains("pg-s3cret"));

        let unset = ServeConfig::parse(text, true, &|_| None).unwrap_err();
        assert!(unset.contains("DATABASE_URL"), "{unset}");
        let typo = text.replace("schema =", "shema =");
        let refused = ServeConfig::parse(&typo, true, &env).unwrap_err();
        assert!(
            refused.starts_with("store.shema: unknown key; did you mean `schema`?")
                && !refused.contains("pg-s3cret"),
            "{refused}"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":["k123456789abcdefgh"],"providers":{},"colour":1}"#;
        assert!(ServeConfig::parse(unknown, false, &|_| None)
            .unwrap_err()
            .contains("colour"));
        let origin = r#"{"listen":"x","public_url":"http://a","checkout_origins":["http://a/"],"merchant_api_keys":["k123456789abcdefgh"],"providers":{}}"#;
        assert!(ServeConfig::parse(origin, false, &|_| None)
            .unwrap_err()
            .contains("checkout_origins"));
        let keyless = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":[],"providers":{}}"#;
        assert!(ServeConfig::parse(keyless, false, &|_| None)
            .unwrap_err()
            .contains("merchant_api_keys"));
        let unbracketed = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":{"env":"KEY"},"providers":{}}"#;
        let secret = |_: &str| Some("supersecretvalue1234".to_owned());
        let error = ServeConfig::parse(unbracketed, false, &secret).unwrap_err();
        assert!(
            error.contains("merchant_api_keys") && !error.contains("supersecret"),
            "{error}"
        );
        let short = r#"{"listen":"x","public_url":"http://a","checkout_origins":[],"merchant_api_keys":["k12"],"providers":{}}"#;
        let error = ServeConfig::parse(short, false, &|_| None).unwrap_err();
        assert!(
            error.contains("merchant_api_keys[0]") && !error.contains("k12"),
            "{error}"
        );
    }

    /// A valid TOML config with a Paysafe section, `edit`ed.
    fn paysafe_toml(edit: impl Fn(String) -> String) -> Result<ServeConfig, String> {
        let text = r#"
listen = "127.0.0.1:0"
public_url = "https://pay.example.com"
checkout_origins = ["https://shop.example.com"]
merchant_api_keys = [{ env = "MERCHANT_API_KEY" }]
[calls]
timeout_ms = 5000
[providers.paysafe]
base_url = "https://api.test.paysafe.com"
api_user = "u"
api_password = { env = "PAYSAFE_PASSWORD" }
account_id = "89987201"
"#;
        let env = |_: &str| Some("env-value-0123456789".to_owned());
        ServeConfig::parse(&edit(text.to_owned()), true, &env)
    }

    #[test]
    fn a_misspelt_key_gets_its_path_and_the_key_meant() {
        assert!(paysafe_toml(|t| t).is_ok());
        let error = paysafe_toml(|t| t.replace("api_user =", "api_usr =")).unwrap_err();
        assert!(
            error.starts_with("providers.paysafe.api_usr: unknown key; did you mean `api_user`?"),
            "{error}"
        );
        let section =
            paysafe_toml(|t| t.replace("[providers.paysafe]", "[providers.paysafee]")).unwrap_err();
        assert!(
            section.starts_with("providers.paysafee: unknown key; did you mean `paysafe`?"),
            "{section}"
        );
        let far = paysafe_toml(|t| t.replace("[calls]", "[colour]")).unwrap_err();
        assert!(
            far.starts_with("colour: unknown key (expected one of: listen,"),
            "{far}"
        );
    }

    #[test]
    fn a_toml_syntax_error_names_its_line_not_its_text() {
        let error =
            paysafe_toml(|t| t.replace("api_user = \"u\"", "api_user = \"s3cret")).unwrap_err();
        assert!(error.starts_with("not valid TOML at line 10: "), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn a_missing_key_and_a_wrong_type_are_named_by_their_path() {
        let missing = paysafe_toml(|t| t.replace("account_id = \"89987201\"", "")).unwrap_err();
        assert_eq!(
            missing,
            "providers.paysafe.account_id: missing (this key is required)"
        );
        let wrong =
            paysafe_toml(|t| t.replace("timeout_ms = 5000", "timeout_ms = \"5s\"")).unwrap_err();
        assert_eq!(
            wrong,
            "calls.timeout_ms: wrong type (string), expected a non-negative integer"
        );
        // A section written as a list is named in TOML's words as well as JSON's.
        let listed = paysafe_toml(|t| t.replace("[calls]\ntimeout_ms = 5000", "calls = [5000]"))
            .unwrap_err();
        assert_eq!(
            listed,
            "calls: wrong type (array), expected an object (a table in TOML)"
        );
        // A secret from the environment where a number belongs is not echoed.
        let secret =
            paysafe_toml(|t| t.replace("timeout_ms = 5000", "timeout_ms = { env = \"TIMEOUT\" }"))
                .unwrap_err();
        assert!(
            secret.starts_with("calls.timeout_ms: wrong type") && !secret.contains("env-value"),
            "{secret}"
        );
    }

    #[test]
    fn urls_and_origins_are_checked_at_load() {
        let bad_base = paysafe_toml(|t| {
            t.replace("https://api.test.paysafe.com", "htp:/api.test.paysafe.com")
        })
        .unwrap_err();
        assert!(
            bad_base.starts_with("providers.paysafe.base_url: \"htp:/api.test.paysafe.com\""),
            "{bad_base}"
        );
        let origin = paysafe_toml(|t| {
            t.replace(
                "\"https://shop.example.com\"",
                "\"https://shop.example.com/checkout\"",
            )
        })
        .unwrap_err();
        assert!(
            origin.starts_with("checkout_origins[0]: ") && origin.contains("no path"),
            "{origin}"
        );
        let public =
            paysafe_toml(|t| t.replace("https://pay.example.com", "pay.example.com")).unwrap_err();
        assert!(public.starts_with("public_url: "), "{public}");
    }
}
