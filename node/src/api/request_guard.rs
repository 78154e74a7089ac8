//! What an HTTP request must be before jsonrpsee sees it: a body within [`MAX_REQUEST_BYTES`]
//! however it is sent, and request ids that JSON-RPC 2.0 allows.
//!
//! jsonrpsee gets both wrong at the edges: it refuses an oversized body with 413 only when a
//! `Content-Length` says so in advance (a chunked one ends in a generic error), and it reads a
//! call whose `id` is an object or an array as a notification, so the call silently does
//! nothing and the client gets no answer. Here the body is read once, bounded, and:
//! - over the limit, by header or by what arrives: HTTP 413 with error -32007 (the code
//!   jsonrpsee uses for it);
//! - a call whose `id` is not a string, a number or null: JSON-RPC's Invalid Request (-32600)
//!   with id null, as the specification asks; in a batch, each such entry gets that answer
//!   and the others run as usual.
//!
//! Anything else goes to jsonrpsee unchanged. The WebSocket upgrade and other methods pass
//! through untouched.
//!
//! [`MAX_REQUEST_BYTES`]: super::server::MAX_REQUEST_BYTES

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// JSON-RPC 2.0's code for a request object that is not valid.
pub const INVALID_REQUEST: i32 = -32600;
/// The code jsonrpsee gives an oversized request (outside JSON-RPC's own codes).
pub const OVERSIZED_REQUEST: i32 = -32007;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Puts [`RequestGuard`] in front of a service.
#[derive(Clone, Copy, Debug)]
pub struct RequestGuardLayer {
    /// The largest body accepted, in bytes.
    pub max_body: usize,
}

impl<S> tower::Layer<S> for RequestGuardLayer {
    type Service = RequestGuard<S>;
    fn layer(&self, inner: S) -> RequestGuard<S> {
        RequestGuard {
            inner,
            max_body: self.max_body,
        }
    }
}

/// The checks of the module doc, in front of the JSON-RPC service.
#[derive(Clone, Debug)]
pub struct RequestGuard<S> {
    inner: S,
    max_body: usize,
}

impl<S> tower::Service<HttpRequest> for RequestGuard<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        let is_json_call = request.method() == http::Method::POST
            && jsonrpsee::server::http::content_type_is_json(&request);
        if !is_json_call {
            return Box::pin(self.inner.call(request));
        }
        // The service that was polled ready does the call; a fresh clone stays behind.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(guard(inner, request, self.max_body))
    }
}

async fn guard<S>(
    mut inner: S,
    request: HttpRequest,
    max_body: usize,
) -> Result<HttpResponse, BoxError>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
{
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        return Ok(too_large(max_body));
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Ok(too_large(max_body)),
        // The client broke off the body: nobody may be listening, but say why.
        Err(error) => return Ok(bad_body(&error.to_string())),
    };
    match check_ids(&body) {
        IdCheck::Allowed => {
            let request = HttpRequest::from_parts(parts, HttpBody::new(Full::new(body)));
            inner.call(request).await
        }
        IdCheck::Refused(answer) => Ok(json_response(http::StatusCode::OK, answer.to_string())),
        IdCheck::PartlyRefused { allowed, answers } => {
            let mut responses = Vec::new();
            if let Some(allowed) = allowed {
                let request = HttpRequest::from_parts(parts, HttpBody::from(allowed));
                let response = inner.call(request).await?;
                let body = response.into_body().collect().await?.to_bytes();
                responses = batch_entries(&body);
            }
            responses.extend(answers);
            Ok(json_response(
                http::StatusCode::OK,
                Value::Array(responses).to_string(),
            ))
        }
    }
}

/// What the ids of a request body allow.
#[derive(Debug, PartialEq)]
pub enum IdCheck {
    /// Every id is allowed (or the body is not JSON-RPC at all: jsonrpsee answers that).
    Allowed,
    /// A single call with an id that is not allowed: this is the whole answer.
    Refused(Value),
    /// A batch with some entries refused: `allowed` is the batch of the others (none if no
    /// other is left), `answers` the refusals to add to its answer.
    PartlyRefused {
        /// The remaining entries, as a JSON array.
        allowed: Option<String>,
        /// One Invalid Request answer per refused entry.
        answers: Vec<Value>,
    },
}

/// Just the `id` of a request object; everything else is jsonrpsee's to read.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// Checks the `id` of a call, or of every call in a batch, against JSON-RPC 2.0: "a String,
/// Number, or NULL value if included".
pub fn check_ids(body: &[u8]) -> IdCheck {
    // By its first byte, as jsonrpsee tells them apart (serde would also read an array as a
    // struct, field by field).
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => match serde_json::from_slice::<IdOnly<'_>>(body)
            .ok()
            .and_then(|call| refusal(&call))
        {
            Some(answer) => IdCheck::Refused(answer),
            None => IdCheck::Allowed,
        },
        Some(b'[') => check_batch(body),
        _ => IdCheck::Allowed,
    }
}

fn check_batch(body: &[u8]) -> IdCheck {
    let Ok(entries) = serde_json::from_slice::<Vec<&RawValue>>(body) else {
        return IdCheck::Allowed;
    };
    let mut allowed = Vec::new();
    let mut answers = Vec::new();
    for entry in entries {
        match serde_json::from_str::<IdOnly<'_>>(entry.get())
            .ok()
            .and_then(|call| refusal(&call))
        {
            Some(answer) => answers.push(answer),
            None => allowed.push(entry.get()),
        }
    }
    if answers.is_empty() {
        IdCheck::Allowed
    } else {
        IdCheck::PartlyRefused {
            allowed: (!allowed.is_empty()).then(|| format!("[{}]", allowed.join(","))),
            answers,
        }
    }
}

/// The Invalid Request answer for a call whose id is not allowed, if it is not.
fn refusal(call: &IdOnly<'_>) -> Option<Value> {
    let id = call.id?.get().trim_start();
    let kind = match id.as_bytes().first() {
        Some(b'"' | b'-' | b'0'..=b'9') | None => return None,
        Some(b'n') => return None, // null
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(_) => "not a string, a number or null",
    };
    Some(json!({
        "jsonrpc": "2.0",
        "error": {
            "code": INVALID_REQUEST,
            "message": format!(
                "Invalid request: the id is {kind}; JSON-RPC 2.0 allows a string, a number or \
                 null (the call was not run)"
            ),
        },
        "id": null,
    }))
}

/// The entries of jsonrpsee's answer to a batch: an array, or a single error object for the
/// batch as a whole, or nothing when every call was a notification.
fn batch_entries(body: &[u8]) -> Vec<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(entries)) => entries,
        Ok(single) => vec![single],
        Err(_) => Vec::new(),
    }
}

/// HTTP 413 with the JSON-RPC error jsonrpsee gives a body whose length is declared too big.
fn too_large(max_body: usize) -> HttpResponse {
    let body = json!({
        "jsonrpc": "2.0",
        "error": {
            "code": OVERSIZED_REQUEST,
            "message": format!(
                "Request is too big: the API accepts request bodies of at most {max_body} bytes"
            ),
        },
        "id": null,
    });
    json_response(http::StatusCode::PAYLOAD_TOO_LARGE, body.to_string())
}

/// HTTP 400 for a body that could not be read to its end.
fn bad_body(why: &str) -> HttpResponse {
    let body = json!({
        "jsonrpc": "2.0",
        "error": {"code": INVALID_REQUEST, "message": format!("cannot read the request body: {why}")},
        "id": null,
    });
    json_response(http::StatusCode::BAD_REQUEST, body.to_string())
}

fn json_response(status: http::StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_message(check: &IdCheck) -> String {
        match check {
            IdCheck::Refused(answer) => {
                assert_eq!(answer["error"]["code"], INVALID_REQUEST);
                assert_eq!(answer["id"], Value::Null);
                answer["error"]["message"].as_str().unwrap().to_string()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn strings_numbers_null_and_no_id_are_allowed() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"node_info"}"#,
            r#"{"jsonrpc":"2.0","id":-1.5,"method":"node_info"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"node_info"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"node_info"}"#,
            r#"{"jsonrpc":"2.0","method":"node_info"}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"b","method":"b"}]"#,
            "not json",
            "[]",
        ] {
            assert_eq!(check_ids(body.as_bytes()), IdCheck::Allowed, "{body}");
        }
    }

    #[test]
    fn objects_arrays_and_booleans_are_refused_by_name() {
        for (id, kind) in [
            (r#"{"a":1}"#, "an object"),
            ("[1]", "an array"),
            ("true", "a boolean"),
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"channel_pay"}}"#);
            let message = refused_message(&check_ids(body.as_bytes()));
            assert!(message.contains(kind), "{message}");
            assert!(message.contains("string, a number or null"), "{message}");
        }
    }

    #[test]
    fn a_batch_keeps_its_good_calls_and_answers_the_bad_ones() {
        let body =
            r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":{},"method":"b"}]"#;
        match check_ids(body.as_bytes()) {
            IdCheck::PartlyRefused { allowed, answers } => {
                let allowed: Value = serde_json::from_str(&allowed.unwrap()).unwrap();
                assert_eq!(allowed, json!([{"jsonrpc":"2.0","id":1,"method":"a"}]));
                assert_eq!(answers.len(), 1);
                assert_eq!(answers[0]["error"]["code"], INVALID_REQUEST);
            }
            other => panic!("{other:?}"),
        }
        let only_bad = r#"[{"jsonrpc":"2.0","id":[],"method":"b"}]"#;
        match check_ids(only_bad.as_bytes()) {
            IdCheck::PartlyRefused { allowed, answers } => {
                assert_eq!(allowed, None);
                assert_eq!(answers.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }
}
