//! The providers this build has (Cargo features `payroc`, `dlocal`, `paysafe`, `bambora`;
//! `native` has all four, an edge worker those of `make edge EDGE_PROVIDERS=…`), seen
//! from the configuration: a section naming a provider the build lacks is read whatever it
//! holds ([`NotBuilt`]) and refused by name when the configuration is checked
//! ([`ProviderNotBuilt`]), so a worker built without a provider never starts as if the
//! merchant had not asked for it. A payment for a provider the build lacks is refused as one
//! for an unconfigured provider (`provider_not_configured`): it has no adapter.

use serde::Deserialize;

use super::config::ProvidersConfig;
use crate::payment::ProviderKind;

/// The section of a provider this build lacks, whatever it holds: read only to be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotBuilt;

impl<'de> Deserialize<'de> for NotBuilt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<NotBuilt, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| NotBuilt)
    }
}

/// A configuration names a provider whose adapter this build does not have: the worker
/// was built with `make edge EDGE_PROVIDERS=…` without it. Never ignored: the payments
/// the merchant meant for it would all be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderNotBuilt {
    pub provider: ProviderKind,
}

impl ProviderNotBuilt {
    /// Its stable code.
    pub const CODE: &'static str = "provider_not_built";
}

impl std::fmt::Display for ProviderNotBuilt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.provider.as_str();
        let built: Vec<&str> = crate::provider::built_providers()
            .map(ProviderKind::as_str)
            .collect();
        let with: Vec<&str> = built.iter().copied().chain([name]).collect();
        write!(
            f,
            "providers.{name}: {}: this build has no {name} adapter (it has: {}); build the \
             worker with it (make edge EDGE_PROVIDERS={}) or remove the section",
            Self::CODE,
            if built.is_empty() {
                "none".to_owned()
            } else {
                built.join(", ")
            },
            with.join(",")
        )
    }
}

impl std::error::Error for ProviderNotBuilt {}

impl ProvidersConfig {
    /// The first section naming a provider this build lacks.
    pub fn check_built(&self) -> Result<(), ProviderNotBuilt> {
        let sections = [
            (ProviderKind::Payroc, self.payroc.is_some()),
            (ProviderKind::Dlocal, self.dlocal.is_some()),
            (ProviderKind::Paysafe, self.paysafe.is_some()),
            (ProviderKind::Bambora, self.bambora.is_some()),
        ];
        match sections
            .into_iter()
            .find(|(provider, set)| *set && !crate::provider::built(*provider))
        {
            Some((provider, _)) => Err(ProviderNotBuilt { provider }),
            None => Ok(()),
        }
    }
}

/// The first section of the configuration's `providers` (its raw value, secrets not yet
/// looked up) naming a provider this build lacks. The edge worker checks it before it
/// looks its secrets up, so that such a section is reported for what it is, and not for
/// a secret of it that the worker (rightly) was never given.
pub fn check_sections(config: &serde_json::Value) -> Result<(), ProviderNotBuilt> {
    let Some(sections) = config
        .get("providers")
        .and_then(serde_json::Value::as_object)
    else {
        return Ok(());
    };
    let named = [
        ProviderKind::Payroc,
        ProviderKind::Dlocal,
        ProviderKind::Paysafe,
        ProviderKind::Bambora,
    ];
    match named.into_iter().find(|provider| {
        sections.contains_key(provider.as_str()) && !crate::provider::built(*provider)
    }) {
        Some(provider) => Err(ProviderNotBuilt { provider }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendConfig, Providers};

    /// A configuration with a valid section for each of `sections` (each provider's
    /// sandbox shape, secrets inline).
    fn config(sections: &[&str]) -> Result<BackendConfig, String> {
        let section = |name: &str| match name {
            "payroc" => serde_json::json!({
                "identity_url": "https://identity.sandbox.test", "api_url": "https://api.sandbox.test",
                "payments_url": "https://payments.sandbox.test", "api_key": "k",
                "processing_terminal_id": "1"
            }),
            "dlocal" => serde_json::json!({
                "base_url": "https://dlocal.sandbox.test", "x_login": "l", "x_trans_key": "t",
                "secret_key": "s"
            }),
            "paysafe" => serde_json::json!({
                "base_url": "https://paysafe.sandbox.test", "api_user": "u", "api_password": "p",
                "account_id": "1"
            }),
            _ => serde_json::json!({
                "base_url": "https://bambora.sandbox.test", "merchant_id": "1", "api_passcode": "p",
                "currency": "CAD"
            }),
        };
        let providers: serde_json::Map<String, serde_json::Value> = sections
            .iter()
            .map(|name| (name.to_string(), section(name)))
            .collect();
        let value = serde_json::json!({
            "public_url": "https://pay.test",
            "checkout_origins": ["https://shop.test"],
            "merchant_api_keys": ["a-merchant-key-of-some-length"],
            "providers": providers,
        });
        let config: BackendConfig = crate::backend::config_errors::parse(value)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn a_refusal_names_the_provider_the_build_it_has_and_how_to_build_one_with_it() {
        let message = ProviderNotBuilt {
            provider: ProviderKind::Bambora,
        }
        .to_string();
        assert!(
            message.starts_with(
                "providers.bambora: provider_not_built: this build has no bambora adapter"
            ),
            "{message}"
        );
        let mut with: Vec<&str> = crate::provider::built_providers()
            .map(ProviderKind::as_str)
            .collect();
        with.push("bambora");
        assert!(
            message.contains(&format!("make edge EDGE_PROVIDERS={}", with.join(","))),
            "{message}"
        );
    }

    /// The native build has every provider: each one's section is taken.
    #[cfg(all(
        feature = "payroc",
        feature = "dlocal",
        feature = "paysafe",
        feature = "bambora"
    ))]
    #[test]
    fn every_section_is_taken_where_every_provider_is_built() {
        let raw = serde_json::json!({ "providers": { "payroc": {}, "dlocal": {}, "paysafe": {}, "bambora": {} } });
        assert_eq!(check_sections(&raw), Ok(()));
        let config = config(&["payroc", "dlocal", "paysafe", "bambora"]).expect("valid");
        assert_eq!(config.providers.check_built(), Ok(()));
        assert_eq!(Providers::from_config(&config.providers).kinds().count(), 4);
    }

    /// A Paysafe-only build (`cargo test --lib --no-default-features --features
    /// json,paysafe backend::providers_built`, as `make test-native` runs it): a section of
    /// another provider stops the configuration, named; Paysafe's alone is taken, and the
    /// backend has no adapter for the others, so their payments are refused as unconfigured.
    #[cfg(all(
        feature = "paysafe",
        not(any(feature = "payroc", feature = "dlocal", feature = "bambora"))
    ))]
    #[test]
    fn a_paysafe_only_build_refuses_another_providers_section_by_name() {
        for other in ["payroc", "dlocal", "bambora"] {
            let refused = config(&["paysafe", other]).expect_err(other);
            assert_eq!(
                refused,
                format!(
                    "providers.{other}: provider_not_built: this build has no {other} adapter \
                     (it has: paysafe); build the worker with it (make edge \
                     EDGE_PROVIDERS=paysafe,{other}) or remove the section"
                )
            );
        }
        // Whatever the section holds: it is refused for the provider, not for its keys.
        let odd: BackendConfig = crate::backend::config_errors::parse(serde_json::json!({
            "public_url": "https://pay.test", "checkout_origins": [], "merchant_api_keys": [],
            "providers": { "payroc": { "no such key": 1 } }
        }))
        .expect("a section of a provider not built is read whatever it holds");
        assert_eq!(
            odd.providers.check_built(),
            Err(ProviderNotBuilt {
                provider: ProviderKind::Payroc
            })
        );
        // Before any secret is looked up: a section of another provider whose secret the
        // worker was never given is refused for its provider, not for the secret.
        let raw = serde_json::json!({
            "providers": {
                "paysafe": { "api_password": { "env": "PAYSAFE_API_PASSWORD" } },
                "dlocal": { "x_trans_key": { "env": "DLOCAL_TRANS_KEY" } }
            }
        });
        assert_eq!(
            check_sections(&raw),
            Err(ProviderNotBuilt {
                provider: ProviderKind::Dlocal
            })
        );
        assert_eq!(
            check_sections(&serde_json::json!({ "providers": { "paysafe": {} } })),
            Ok(())
        );
        let config = config(&["paysafe"]).expect("paysafe is built");
        let providers = Providers::from_config(&config.providers);
        assert_eq!(
            providers.kinds().collect::<Vec<_>>(),
            [ProviderKind::Paysafe]
        );
        assert!(providers.get(ProviderKind::Payroc).is_none());
    }
}
