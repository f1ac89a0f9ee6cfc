//! The demo checkout's static files, read from disk at each request (so `make pkg` and
//! edits to www/ show on reload): `www/` at `/`, the built npm package `pkg/` at
//! `/pkg/`, each with the page's Content-Security-Policy.
//!
//! Only plain file names are served (letters, digits, `.`, `-`, `_`; no `..`, no hidden
//! files): nothing outside the two folders can be named.

use std::path::{Path, PathBuf};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where the files are.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    pub www: PathBuf,
    pub pkg: PathBuf,
    /// The header every file carries.
    pub csp: String,
}

/// The page's policy: scripts and styles only from files of this origin (WebAssembly
/// allowed to compile), fetches to this origin (the backend), frames and form posts only
/// to this origin (the backend's completion pages) and the sandbox (the issuer's pages).
pub fn content_security_policy(sandbox_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; frame-src 'self' {sandbox_origin}; \
         form-action 'self' {sandbox_origin}; base-uri 'none'; frame-ancestors 'none'"
    )
}

impl StaticFiles {
    /// The file for a request path, if it names one.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        let (root, rest): (&Path, &str) = match path.strip_prefix("/pkg/") {
            Some(rest) => (&self.pkg, rest),
            None => (&self.www, path.trim_start_matches('/')),
        };
        let rest = if rest.is_empty() { "index.html" } else { rest };
        let mut file = root.to_path_buf();
        for segment in rest.split('/') {
            let plain = !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !plain {
                return None;
            }
            file.push(segment);
        }
        Some(file)
    }

    pub async fn serve(&self, path: &str) -> Response {
        let Some(file) = self.resolve(path) else {
            return self.not_found();
        };
        let read = {
            let file = file.clone();
            tokio::task::spawn_blocking(move || std::fs::read(file)).await
        };
        match read {
            Ok(Ok(bytes)) => {
                let mut response = (StatusCode::OK, bytes).into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&file)),
                );
                self.secure(headers);
                response
            }
            _ => self.not_found(),
        }
    }

    fn not_found(&self) -> Response {
        let mut response = (StatusCode::NOT_FOUND, "not found").into_response();
        self.secure(response.headers_mut());
        response
    }

    /// The headers every demo response carries.
    pub fn secure(&self, headers: &mut axum::http::HeaderMap) {
        if let Ok(csp) = HeaderValue::from_str(&self.csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        // A developer's edit shows on the next reload.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
}

fn content_type(file: &Path) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> StaticFiles {
        StaticFiles {
            www: "/w".into(),
            pkg: "/p".into(),
            csp: content_security_policy("http://127.0.0.1:8081"),
        }
    }

    #[test]
    fn only_plain_names_inside_the_folders() {
        let f = files();
        assert_eq!(f.resolve("/"), Some("/w/index.html".into()));
        assert_eq!(f.resolve("/app.js"), Some("/w/app.js".into()));
        assert_eq!(
            f.resolve("/pkg/threeds_bridge_bg.wasm"),
            Some("/p/threeds_bridge_bg.wasm".into())
        );
        for bad in [
            "/../Cargo.toml",
            "/pkg/../../etc/passwd",
            "/.git/config",
            "/a//b",
            "/a%2e%2e",
            "/pkg/",
        ] {
            assert_eq!(
                f.resolve(bad),
                if bad == "/pkg/" {
                    Some("/p/index.html".into())
                } else {
                    None
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn policy_allows_no_inline_code_and_frames_only_the_two_origins() {
        let csp = content_security_policy("http://127.0.0.1:8081");
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"));
        assert!(csp.contains("frame-src 'self' http://127.0.0.1:8081;"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains('*'));
    }
}
