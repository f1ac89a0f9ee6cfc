//! Payroc's error shape and the edge of every JSON endpoint: RFC 7807 problem details with
//! Payroc's `errors[]` extension, the size-limited body, and a reader that turns untrusted
//! JSON into typed values while collecting `errors[]` entries with dotted parameter paths.

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest request body accepted (bytes); larger gets 413 `#payload-too-large`.
pub const BODY_LIMIT: usize = 64 * 1024;

const TYPE_BASE: &str = "https://docs.payroc.com/api/errors";

/// A Payroc problem document (docs.payroc.com/api/errors; SDK `types/four_hundred*.py`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The resource type acted on (403, 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemError>>,
}

/// One entry of `errors[]`: which parameter, a short reason, a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemError {
    pub parameter: String,
    pub detail: String,
    pub message: String,
}

impl ProblemError {
    pub fn new(parameter: &str, detail: &str, message: impl Into<String>) -> ProblemError {
        ProblemError {
            parameter: parameter.to_owned(),
            detail: detail.to_owned(),
            message: message.into(),
        }
    }
}

impl Problem {
    fn new(status: StatusCode, fragment: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            problem_type: format!("{TYPE_BASE}#{fragment}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            resource: None,
            errors: None,
        }
    }

    /// 400 `#bad-request` with the validation errors.
    pub fn validation(errors: Vec<ProblemError>) -> Problem {
        Problem {
            errors: Some(errors),
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                "One or more validation errors occurred, see error section for more info",
            )
        }
    }

    /// 400 for one parameter.
    pub fn invalid(parameter: &str, detail: &str, message: impl Into<String>) -> Problem {
        Problem::validation(vec![ProblemError::new(parameter, detail, message)])
    }

    pub fn idempotency_key_missing() -> Problem {
        Problem {
            errors: Some(vec![ProblemError::new(
                "Idempotency-Key",
                "Required field not populated",
                "The 'Idempotency-Key' header is required",
            )]),
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-missing",
                "Idempotency key missing",
                "The Idempotency-Key header is required for this request",
            )
        }
    }

    pub fn idempotency_key_in_use(instance: &str) -> Problem {
        Problem {
            instance: Some(instance.to_owned()),
            errors: Some(vec![ProblemError::new(
                "Idempotency-Key",
                "Invalid value",
                "The idempotency key was already used with a different request",
            )]),
            ..Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                "Idempotency key in use",
                "The idempotency key is already in use for a different request",
            )
        }
    }

    pub fn not_authorized(detail: &str) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "not-authorized",
            "Not authorized",
            detail,
        )
    }

    pub fn forbidden(resource: &str, detail: impl Into<String>) -> Problem {
        Problem {
            resource: Some(resource.to_owned()),
            ..Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
        }
    }

    pub fn not_found(resource: &str, instance: &str) -> Problem {
        Problem {
            resource: Some(resource.to_owned()),
            instance: Some(instance.to_owned()),
            ..Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("The {resource} was not found"),
            )
        }
    }

    pub fn payload_too_large() -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("The request body is larger than {BODY_LIMIT} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the request body as application/json",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

/// A finished answer: status, media type and bytes, so that an idempotent replay can
/// return exactly the first answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    /// `application/json`, as the SDK's recorded responses carry it.
    pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
}

impl From<Problem> for Reply {
    fn from(problem: Problem) -> Reply {
        Reply {
            status: problem.status_code(),
            content_type: "application/problem+json",
            body: serde_json::to_vec(&problem).unwrap_or_default(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Reply::from(self).into_response()
    }
}

/// Checks the media type and reads at most [`BODY_LIMIT`] bytes of JSON.
pub async fn read_json(headers: &HeaderMap, body: Body) -> Result<Value, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Problem::unsupported_media_type());
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return Err(Problem::payload_too_large());
    }
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Problem::payload_too_large())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::invalid(
            "body",
            "Invalid format",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

/// Reads typed values out of untrusted JSON, collecting one `errors[]` entry per bad field.
#[derive(Debug, Default)]
pub struct Fields {
    errors: Vec<ProblemError>,
}

/// An object in the request and its dotted path (empty for the root).
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl Fields {
    /// The root object; anything else is the request's one error.
    pub fn root<'a>(&self, value: &'a Value) -> Result<Node<'a>, Problem> {
        match value.as_object() {
            Some(map) => Ok(Node { map, path: "" }),
            None => Err(Problem::validation(vec![ProblemError::new(
                "body",
                "Invalid format",
                "The request body must be a JSON object",
            )])),
        }
    }

    /// The required `channel` of a payment or a token request: `pos`, `web` or `moto`.
    pub fn channel(&mut self, root: Node<'_>) {
        if let Some(channel) = self.required_str(root, "channel") {
            if !matches!(channel.as_str(), "pos" | "web" | "moto") {
                self.invalid(
                    root,
                    "channel",
                    "The 'channel' field must be one of pos, web, moto",
                );
            }
        }
    }

    pub fn error(&mut self, parameter: &str, detail: &str, message: impl Into<String>) {
        self.errors
            .push(ProblemError::new(parameter, detail, message));
    }

    /// Records an invalid value for `name` of `node`.
    pub fn invalid(&mut self, node: Node<'_>, name: &str, message: impl Into<String>) {
        let path = join(node.path, name);
        self.error(&path, "Invalid value", message);
    }

    fn present<'a>(&mut self, node: Node<'a>, name: &str, required: bool) -> Option<&'a Value> {
        match node.map.get(name) {
            None | Some(Value::Null) => {
                if required {
                    let path = join(node.path, name);
                    self.error(
                        &path,
                        "Required field not populated",
                        format!("The '{path}' field is required"),
                    );
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    fn wrong_type(&mut self, node: Node<'_>, name: &str, kind: &str) {
        let path = join(node.path, name);
        self.error(
            &path,
            "Invalid format",
            format!("The '{path}' field must be {kind}"),
        );
    }

    fn string(&mut self, node: Node<'_>, name: &str, required: bool) -> Option<String> {
        let value = self.present(node, name, required)?;
        match value.as_str() {
            Some(text) if text.trim().is_empty() && required => {
                let path = join(node.path, name);
                self.error(
                    &path,
                    "Required field not populated",
                    format!("The '{path}' field is required"),
                );
                None
            }
            Some(text) => Some(text.to_owned()),
            None => {
                self.wrong_type(node, name, "a string");
                None
            }
        }
    }

    pub fn required_str(&mut self, node: Node<'_>, name: &str) -> Option<String> {
        self.string(node, name, true)
    }

    pub fn optional_str(&mut self, node: Node<'_>, name: &str) -> Option<String> {
        self.string(node, name, false)
    }

    /// A JSON integer (not a float, not a string).
    pub fn required_i64(&mut self, node: Node<'_>, name: &str) -> Option<i64> {
        let value = self.present(node, name, true)?;
        match value.as_i64() {
            Some(n) => Some(n),
            None => {
                self.wrong_type(node, name, "an integer");
                None
            }
        }
    }

    pub fn optional_i64(&mut self, node: Node<'_>, name: &str) -> Option<i64> {
        let value = self.present(node, name, false)?;
        match value.as_i64() {
            Some(n) => Some(n),
            None => {
                self.wrong_type(node, name, "an integer");
                None
            }
        }
    }

    pub fn optional_bool(&mut self, node: Node<'_>, name: &str) -> Option<bool> {
        let value = self.present(node, name, false)?;
        match value.as_bool() {
            Some(b) => Some(b),
            None => {
                self.wrong_type(node, name, "a boolean");
                None
            }
        }
    }

    fn object<'a>(&mut self, node: Node<'a>, name: &str, required: bool) -> Option<NodeOwned<'a>> {
        let value = self.present(node, name, required)?;
        match value.as_object() {
            Some(map) => Some(NodeOwned {
                map,
                path: join(node.path, name),
            }),
            None => {
                self.wrong_type(node, name, "an object");
                None
            }
        }
    }

    pub fn required_object<'a>(&mut self, node: Node<'a>, name: &str) -> Option<NodeOwned<'a>> {
        self.object(node, name, true)
    }

    pub fn optional_object<'a>(&mut self, node: Node<'a>, name: &str) -> Option<NodeOwned<'a>> {
        self.object(node, name, false)
    }

    /// The collected errors as one 400 problem, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.errors))
        }
    }

    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// A nested object with its own path; borrow it as a [`Node`] to read its fields.
#[derive(Debug, Clone)]
pub struct NodeOwned<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl NodeOwned<'_> {
    pub fn node(&self) -> Node<'_> {
        Node {
            map: self.map,
            path: &self.path,
        }
    }
}
