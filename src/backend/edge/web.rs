//! The worker's web `Request`/`Response` to and from the core's plain values.

use std::net::IpAddr;

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::backend::http::{Method, Request, Response};
use crate::backend::MAX_BODY_BYTES;

/// The plain request, with at most `MAX_BODY_BYTES + 1` bytes of body (the core answers
/// 413 to anything longer). The browser's address comes from `CF-Connecting-IP`, which
/// Cloudflare sets on every request and a client cannot override.
///
/// No more of a body than that is read into the wasm: its memory grows and never shrinks,
/// so one large body would stay the isolate's for its life, and a few would end it at the
/// isolate's memory limit, with every payment it was serving. A body of declared length
/// (what browsers and servers send) is read whole, as the framing bounds it; one sent in
/// chunks, with no length, is read only up to the limit and the rest cancelled.
pub async fn request(web: &web_sys::Request) -> Result<Request, JsValue> {
    const READ: usize = MAX_BODY_BYTES + 1;
    let url = web.url();
    let (path, query) = split_url(&url);
    let headers: Vec<(String, String)> = gloo_net::http::Headers::from_raw(web.headers())
        .entries()
        .collect();
    let method = Method::parse(&web.method());
    let declared = header(&headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let body = match (&method, declared) {
        (Method::Get | Method::Head, _) => Vec::new(),
        (_, Some(length)) if length > MAX_BODY_BYTES as u64 => vec![0; READ],
        (_, Some(_)) => read_whole(web.array_buffer(), READ).await?,
        (_, None) => read_up_to(web.body(), READ).await?,
    };
    let peer_ip = header(&headers, "cf-connecting-ip").and_then(|v| v.parse::<IpAddr>().ok());
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
        peer_ip,
    })
}

/// A body of declared length, read in one call (its framing bounds it); no more than
/// `limit` bytes of it are copied into the wasm.
pub(super) async fn read_whole(
    buffer: Result<js_sys::Promise, JsValue>,
    limit: usize,
) -> Result<Vec<u8>, JsValue> {
    let buffer = Uint8Array::new(&JsFuture::from(buffer?).await?);
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    Ok(buffer.subarray(0, limit.min(buffer.length())).to_vec())
}

/// The first `limit` bytes of a body (all of it when shorter), read chunk by chunk; the
/// stream is cancelled once `limit` bytes are in. A request's or a provider's answer.
pub(super) async fn read_up_to(
    body: Option<web_sys::ReadableStream>,
    limit: usize,
) -> Result<Vec<u8>, JsValue> {
    let Some(stream) = body else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        let read = JsFuture::from(reader.read()).await?;
        if Reflect::get(&read, &"done".into())?.is_truthy() {
            return Ok(bytes);
        }
        let chunk: Uint8Array = Reflect::get(&read, &"value".into())?.unchecked_into();
        let room = u32::try_from(limit - bytes.len()).unwrap_or(u32::MAX);
        bytes.extend(chunk.subarray(0, room.min(chunk.length())).to_vec());
    }
    // The rest is never read; what cancelling answers does not matter.
    let _ = reader.cancel();
    Ok(bytes)
}

/// The web response for the core's answer.
pub fn response(plain: Response) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::ResponseInit::new();
    init.set_status(plain.status);
    let headers = web_sys::Headers::new()?;
    for (name, value) in &plain.headers {
        headers.append(name, value)?;
    }
    init.set_headers(&headers);
    // A null-body status (204, 304) must not be given a body, even an empty one.
    let mut body = plain.body;
    let body = (!body.is_empty()).then_some(body.as_mut_slice());
    web_sys::Response::new_with_opt_u8_array_and_init(body, &init)
}

pub(super) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `https://host/path?query#fragment` → (`/path`, `query`).
fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &url[after_scheme..];
    let target = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    let target = target.split('#').next().unwrap_or_default();
    match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (target.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn paths_and_queries() {
        assert_eq!(
            split_url("https://pay.test/v1/returns/payroc?a=1&b=2#x"),
            ("/v1/returns/payroc".to_owned(), "a=1&b=2".to_owned())
        );
        assert_eq!(
            split_url("http://127.0.0.1:8787"),
            ("/".to_owned(), String::new())
        );
    }
}
