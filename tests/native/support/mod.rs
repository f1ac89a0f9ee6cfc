//! What integration tests need to act as the cardholder's browser: start a sandbox on a
//! free port, read the form a page would submit, and submit it.

pub mod backend;
pub mod cardholder;
pub mod clock;
pub mod flow;
pub mod recording;
pub mod requests;
pub mod serve;
pub mod store;

use threeds_bridge::sandbox::{spawn, RunningSandbox, SandboxConfig};

/// A sandbox on a free loopback port, stopped when the value is dropped.
pub async fn sandbox() -> RunningSandbox {
    sandbox_with(SandboxConfig::new("")).await
}

pub async fn sandbox_with(config: SandboxConfig) -> RunningSandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    spawn(listener, config).await.expect("start the sandbox")
}

/// A client that, like a test's browser, does not follow redirects by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A form found in a page: where it goes, how, and its named values (hidden inputs and
/// text inputs with a value), in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageForm {
    pub id: Option<String>,
    pub action: String,
    pub method: String,
    pub fields: Vec<(String, String)>,
}

impl PageForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Submits the form as a browser would (POST urlencoded, or GET with a query),
    /// resolving a relative action against `base`.
    pub async fn submit(&self, client: &reqwest::Client, base: &str) -> reqwest::Response {
        self.try_submit(client, base).await.expect("submit form")
    }

    /// [`PageForm::submit`], with a failed request as an error (a server that is down).
    pub async fn try_submit(
        &self,
        client: &reqwest::Client,
        base: &str,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let url = resolve(base, &self.action);
        let request = if self.method.eq_ignore_ascii_case("get") {
            client.get(&url).query(&self.fields)
        } else {
            client.post(&url).form(&self.fields)
        };
        request.send().await
    }
}

/// Every `<form>` of a page, with its `<input>` names and values. A deliberately small
/// reader for the sandbox's and backend's own pages, not a general HTML parser.
pub fn forms(html: &str) -> Vec<PageForm> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let end = after.find("</form>").unwrap_or(after.len());
        let body = &after[..end];
        let tag_end = body.find('>').unwrap_or(body.len());
        let tag = &body[..tag_end];
        let mut form = PageForm {
            id: attribute(tag, "id"),
            action: attribute(tag, "action").unwrap_or_default(),
            method: attribute(tag, "method").unwrap_or_else(|| "get".to_owned()),
            fields: Vec::new(),
        };
        let mut inputs = &body[tag_end..];
        while let Some(i) = inputs.find("<input") {
            let input = &inputs[i..];
            let input_tag = &input[..input.find('>').unwrap_or(input.len())];
            if let Some(name) = attribute(input_tag, "name") {
                form.fields
                    .push((name, attribute(input_tag, "value").unwrap_or_default()));
            }
            inputs = &input[input_tag.len()..];
        }
        found.push(form);
        rest = &after[end..];
    }
    found
}

/// The page's one form, or the one with `id`.
pub fn form(html: &str, id: Option<&str>) -> PageForm {
    let all = forms(html);
    match id {
        Some(id) => all.into_iter().find(|f| f.id.as_deref() == Some(id)),
        None => all.into_iter().next(),
    }
    .unwrap_or_else(|| panic!("no form {id:?} in page:\n{html}"))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `action` made absolute against `base` (an origin or a URL).
pub fn resolve(base: &str, action: &str) -> String {
    if action.starts_with("http://") || action.starts_with("https://") {
        action.to_owned()
    } else {
        let origin_end = base.find("://").map(|i| i + 3).unwrap_or(0);
        let origin = match base[origin_end..].find('/') {
            Some(slash) => &base[..origin_end + slash],
            None => base,
        };
        format!("{origin}{action}")
    }
}
