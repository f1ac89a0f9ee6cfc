//! The provider sandbox: local emulators of Payroc, dLocal, Paysafe and Bambora, and the
//! issuer's ACS/DS they share, on one HTTP port (native only).
//!
//! Each provider lives under its own prefix and speaks its documented API, so that the
//! backend's adapters switch between production and sandbox by base URL alone:
//! `/payroc/identity`, `/payroc/api/v1`, `/payroc/payments`, `/dlocal`, `/paysafe`,
//! `/bambora`, and `/acs` for the issuer. `/_sandbox` holds the ledger and the faults.
//! A provider's whole emulation is in its own file; this one only assembles them.

pub mod acs;
mod acs_pages;
pub mod bambora;
pub mod cards;
mod control;
pub mod dlocal;
pub mod fault_layer;
pub mod faults;
pub mod hosted_fields;
pub mod html;
pub mod ledger;
pub mod payroc;
pub mod paysafe;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;

/// How a sandbox instance is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The origin the browser reaches the sandbox at, e.g. `http://127.0.0.1:8081`.
    pub public_url: String,
    /// The MPI receipt URL each Payroc processing terminal registered at sign-up.
    pub payroc_receipt_urls: HashMap<String, String>,
    pub faults: Vec<faults::FaultRule>,
}

impl SandboxConfig {
    /// The built-in setup: terminal 4479001's receipts go to the demo backend.
    pub fn new(public_url: impl Into<String>) -> SandboxConfig {
        SandboxConfig {
            public_url: public_url.into(),
            payroc_receipt_urls: HashMap::from([(
                payroc::SANDBOX_TERMINAL.to_owned(),
                "http://127.0.0.1:8080/v1/returns/payroc".to_owned(),
            )]),
            faults: Vec::new(),
        }
    }
}

/// Everything the emulators share. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Sandbox(Arc<Shared>);

pub struct Shared {
    pub config: SandboxConfig,
    pub ledger: ledger::Ledger,
    pub acs: acs::AcsDirectory,
    pub faults: faults::Faults,
    pub payroc: payroc::State,
    pub dlocal: dlocal::State,
    pub paysafe: paysafe::State,
    pub bambora: bambora::State,
    /// For the sandbox's own outgoing calls (dLocal notifications).
    pub http: reqwest::Client,
}

impl Deref for Sandbox {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Sandbox {
        let faults = faults::Faults::default();
        faults.set(config.faults.clone());
        Sandbox(Arc::new(Shared {
            config,
            ledger: Default::default(),
            acs: Default::default(),
            faults,
            payroc: Default::default(),
            dlocal: Default::default(),
            paysafe: Default::default(),
            bambora: Default::default(),
            http: reqwest::Client::new(),
        }))
    }

    /// An absolute URL on the sandbox, for pages the browser is sent to.
    pub fn public_url(&self, path: &str) -> String {
        format!("{}{}", self.config.public_url.trim_end_matches('/'), path)
    }
}

/// The whole sandbox as one axum router. Each provider's routes answer to that
/// provider's fault rules; the ACS pages and the controls never fail on purpose.
pub fn router(sandbox: Sandbox) -> Router {
    use fault_layer::with_faults;
    use ledger::Provider;
    Router::new()
        .nest(
            "/payroc",
            with_faults(payroc::routes(), &sandbox, Provider::Payroc),
        )
        .nest(
            "/dlocal",
            with_faults(dlocal::routes(), &sandbox, Provider::Dlocal),
        )
        .nest(
            "/paysafe",
            with_faults(paysafe::routes(), &sandbox, Provider::Paysafe),
        )
        .nest(
            "/bambora",
            with_faults(bambora::routes(), &sandbox, Provider::Bambora),
        )
        .merge(acs_pages::routes())
        .merge(control::routes())
        .merge(payroc::control_routes())
        .merge(dlocal::control_routes())
        .merge(paysafe::lifecycle::control_routes())
        .merge(hosted_fields::routes())
        .with_state(sandbox)
}

/// A sandbox serving on a listener until dropped or shut down.
pub struct RunningSandbox {
    pub url: String,
    pub sandbox: Sandbox,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSandbox {
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves the sandbox on `listener`. When `config.public_url` is empty, the listener's
/// own address is used (tests bind port 0).
pub async fn spawn(
    listener: tokio::net::TcpListener,
    mut config: SandboxConfig,
) -> std::io::Result<RunningSandbox> {
    let url = format!("http://{}", listener.local_addr()?);
    if config.public_url.is_empty() {
        config.public_url = url.clone();
    }
    let sandbox = Sandbox::new(config);
    let app = router(sandbox.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSandbox {
        url,
        sandbox,
        shutdown: Some(tx),
        task,
    })
}
