//! What stops a native server: SIGTERM (systemd, Kubernetes, every container runtime)
//! or SIGINT (Ctrl-C). The server then stops accepting, lets the requests in flight end
//! (each bounded by the call policy: a money call is never cut in half) and stops its
//! reconciler after the sweep in progress (docs/operations.md, "Shutdown").

/// Waits for SIGTERM or SIGINT and names the one that came.
pub async fn signal() -> Result<&'static str, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot wait for SIGTERM: {e}"))?;
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot wait for SIGINT: {e}"))?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        Ok("Ctrl-C")
    }
}
