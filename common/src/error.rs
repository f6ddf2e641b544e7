//! Errors answered in the emulated API's own format.
//!
//! Each mock describes its error body once, as an [`ErrorStyle`]; every error `common`
//! produces on its behalf (bad JSON, unknown route, oversized body, missing token, an
//! injected fault) is rendered through that style, so a client never sees a format its
//! real service would not send.

use std::fmt;

use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use bytes::Bytes;
use serde_json::Value;

/// How one API writes its error bodies.
#[derive(Clone, Copy)]
pub struct ErrorStyle {
    /// Renders `(status, kind, message)` as the API's error body. `kind` is the API's
    /// error type (Nova's `badRequest`, Keystone's `unauthorized`); `None` lets the
    /// style pick the usual one for the status.
    pub render: fn(StatusCode, Option<&str>, &str) -> Value,
}

impl fmt::Debug for ErrorStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorStyle")
    }
}

impl ErrorStyle {
    /// `{"<kind>": {"code": N, "message": "..."}}`: Keystone v2 and Nova.
    pub fn wrapped(status: StatusCode, kind: &str, message: &str) -> Value {
        serde_json::json!({ kind: { "code": status.as_u16(), "message": message } })
    }

    /// The control API's own style: `{"error": {"code": N, "message": "..."}}`, whatever
    /// kind an error names (the pipeline's 404, 413, bad JSON and 503 name the emulated
    /// APIs' kinds).
    pub const CONTROL: ErrorStyle = ErrorStyle {
        render: |status, _kind, message| Self::wrapped(status, "error", message),
    };
}

/// An error response in some API's format.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Debug)]
enum ErrorBody {
    Styled {
        style: ErrorStyle,
        kind: Option<String>,
        message: String,
    },
    Json(Value),
    Raw {
        content_type: String,
        body: Bytes,
    },
}

impl ApiError {
    pub fn new(style: ErrorStyle, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody::Styled {
                style,
                kind: None,
                message: message.into(),
            },
            headers: Vec::new(),
        }
    }

    /// An error whose body is given whole (a CLB `validationErrors` body, say).
    pub fn json(status: StatusCode, body: Value) -> ApiError {
        ApiError {
            status,
            body: ErrorBody::Json(body),
            headers: Vec::new(),
        }
    }

    /// An error with a raw body, as Mimic's `"type": "string"` faults answer.
    pub fn raw(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody::Raw {
                content_type: content_type.to_string(),
                body: body.into(),
            },
            headers: Vec::new(),
        }
    }

    /// Sets the API error type (`badRequest`, `forbidden`, ...).
    pub fn kind(mut self, kind: impl Into<String>) -> ApiError {
        if let ErrorBody::Styled { kind: k, .. } = &mut self.body {
            *k = Some(kind.into());
        }
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> ApiError {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn retry_after(self, seconds: u64) -> ApiError {
        self.header(RETRY_AFTER, &seconds.to_string())
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message, when the body was built from one.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::Styled { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn to_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        for (k, v) in &self.headers {
            res.insert_header((k.clone(), v.clone()));
        }
        match &self.body {
            ErrorBody::Styled {
                style,
                kind,
                message,
            } => res.json((style.render)(self.status, kind.as_deref(), message)),
            ErrorBody::Json(v) => res.json(v),
            ErrorBody::Raw { content_type, body } => res
                .insert_header((CONTENT_TYPE, content_type.as_str()))
                .body(body.clone()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.body {
            ErrorBody::Styled { message, .. } => write!(f, "{} {message}", self.status),
            _ => write!(f, "{}", self.status),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response()
    }
}

/// What a client is told when the state store does not answer (Redis down): the request
/// changed nothing and may be retried.
pub const STORE_UNAVAILABLE: &str =
    "The service is temporarily unavailable: its state store does not answer. Retry later.";

/// The status a store failure is answered with: 503 while the backend does not answer,
/// 500 for anything else.
pub fn store_status(e: &crate::store::StoreError) -> StatusCode {
    match e {
        crate::store::StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
