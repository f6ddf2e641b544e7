//! CLB's error bodies and lb-mock's error type.
//!
//! CLB errors are not wrapped: `{"message": "...", "code": N}` (the message always a
//! string, the code always the status). Validation failures — a body that does not match
//! the schema among them — add `validationErrors.messages` and `details`; Repose's rate
//! limit is the one wrapped body (`overLimit`).

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use common::error::{ApiError, ErrorStyle};
use common::store::StoreError;

use crate::domain::rejection::Rejection;

/// The text of an unknown route.
pub const NOT_FOUND: &str = "Resource not found";

/// The text CLB (and Mimic) answer for a body that is not JSON.
pub const BAD_JSON: &str = "Invalid JSON request body";

/// The text of a balancer that does not exist (or is no longer shown).
pub const LB_NOT_FOUND: &str = "Load balancer not found";

/// CLB's error style: plain `{"message", "code"}`, except Repose's `overLimit`.
pub const STYLE: ErrorStyle = ErrorStyle { render };

fn render(status: StatusCode, kind: Option<&str>, message: &str) -> Value {
    match kind {
        Some("overLimit") => ErrorStyle::wrapped(status, "overLimit", message),
        _ => json!({"message": message, "code": status.as_u16()}),
    }
}

/// The validation message of a body that does not match the expected schema.
pub const SCHEMA_MISMATCH: &str = "JSON does not match the expected schema";

fn validation_body(message: &str, messages: &[String]) -> Value {
    json!({
        "validationErrors": {"messages": messages},
        "message": message,
        "code": 400,
        "details": "The object is not valid",
    })
}

pub const UNKNOWN_ERROR: &str = "An unknown exception has occurred. Please contact support.";

/// Everything a lb-mock handler can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// A plain CLB fault.
    #[error("{0} {1}")]
    Fault(StatusCode, String),
    /// 400 Validation Failure with its messages, in rule order.
    #[error("validation failure: {messages:?}")]
    Validation {
        message: &'static str,
        messages: Vec<String>,
    },
    /// 400 Validation Failure whose one message is "JSON does not match the expected
    /// schema" (Mimic answered it with a list as its `message` and no `code`; CLB clients
    /// read `message` as text and `code` as the status).
    #[error("json does not match the expected schema")]
    Schema,
    /// 413 from the rate limiter, with `Retry-After` seconds.
    #[error("rate limit exceeded")]
    RateLimited { retry_after_s: u64, until: String },
    /// An error common built (bad JSON, missing token).
    #[error("{0}")]
    Api(ApiError),
    #[error("state store failed: {0}")]
    Store(#[from] StoreError),
}

impl LbError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> LbError {
        LbError::Fault(status, message.into())
    }
    pub fn bad_request(message: impl Into<String>) -> LbError {
        LbError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> LbError {
        LbError::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> LbError {
        LbError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    pub fn validation(messages: Vec<String>) -> LbError {
        LbError::Validation {
            message: "Validation Failure",
            messages,
        }
    }
    pub fn validation_one(message: impl Into<String>) -> LbError {
        LbError::validation(vec![message.into()])
    }
    /// An unknown route (a path no resource has, or an id of the wrong shape).
    pub fn route_not_found() -> LbError {
        LbError::not_found(NOT_FOUND)
    }
    /// A balancer the tenant does not have (in this region).
    pub fn lb_not_found() -> LbError {
        LbError::not_found(LB_NOT_FOUND)
    }
    /// A known path asked with a method it does not serve.
    pub fn method_not_allowed() -> LbError {
        LbError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    }
}

impl From<Rejection> for LbError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Schema => LbError::Schema,
            Rejection::Validation(messages) => LbError::validation(messages),
            Rejection::BadRequest(m) => LbError::bad_request(m),
            Rejection::NotFound(m) => LbError::not_found(m),
            Rejection::OverLimit(m) => LbError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            Rejection::Unprocessable(m) => LbError::unprocessable(m),
        }
    }
}

impl From<ApiError> for LbError {
    fn from(e: ApiError) -> Self {
        LbError::Api(e)
    }
}

impl ResponseError for LbError {
    fn status_code(&self) -> StatusCode {
        match self {
            LbError::Fault(s, _) => *s,
            LbError::Validation { .. } | LbError::Schema => StatusCode::BAD_REQUEST,
            LbError::RateLimited { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            LbError::Api(e) => e.status(),
            LbError::Store(e) => common::error::store_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            LbError::Fault(_, m) => HttpResponse::build(status).json(render(status, None, m)),
            LbError::Validation { message, messages } => {
                HttpResponse::build(status).json(validation_body(message, messages))
            }
            LbError::Schema => HttpResponse::build(status).json(validation_body(
                "Validation Failure",
                &[SCHEMA_MISMATCH.to_string()],
            )),
            LbError::RateLimited {
                retry_after_s,
                until,
            } => HttpResponse::build(status)
                .insert_header((RETRY_AFTER, retry_after_s.to_string()))
                .json(json!({"overLimit": {
                    "code": 413,
                    "message": "OverLimit Retry...",
                    "details": "Error Details...",
                    "retryAfter": until,
                }})),
            LbError::Api(e) => e.to_response(),
            LbError::Store(e) => {
                // Never leak internals: log them, answer CLB's generic 500 (503 while the
                // store does not answer).
                tracing::error!(error = %e, "state store failed");
                let message = if status == StatusCode::SERVICE_UNAVAILABLE {
                    common::error::STORE_UNAVAILABLE
                } else {
                    UNKNOWN_ERROR
                };
                HttpResponse::build(status).json(render(status, None, message))
            }
        }
    }
}
