//! Identity's two error formats and the mock's error type.
//!
//! Keystone v2.0 (as Rackspace writes it) wraps an error in one key named after the
//! fault: `{"unauthorized": {"code": 401, "message": "..."}}`. That is [`V2_STYLE`], the
//! style `common` uses for everything it answers on identity's behalf (bad JSON, unknown
//! routes, oversized bodies, injected faults). Keystone v3 answers
//! `{"error": {"code": 401, "message": "...", "title": "Unauthorized"}}`: [`V3_STYLE`],
//! used by the `/v3` handlers.

use actix_web::http::header::HeaderName;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use common::error::{ApiError, ErrorStyle};
use common::store::StoreError;

use crate::domain::external::Refused;
use crate::domain::mimic::Failure;

/// The text of Identity's 404 for a route it does not serve.
pub const NOT_FOUND: &str = "Resource not found";

/// Keystone v2.0 / Rackspace: `{"<fault>": {"code", "message"}}`.
pub const V2_STYLE: ErrorStyle = ErrorStyle {
    render: |status, kind, message| {
        ErrorStyle::wrapped(status, kind.unwrap_or_else(|| v2_fault(status)), message)
    },
};

/// Keystone v3: `{"error": {"code", "message", "title"}}`.
pub const V3_STYLE: ErrorStyle = ErrorStyle {
    render: |status, _kind, message| {
        json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "title": status.canonical_reason().unwrap_or("Error"),
        }})
    },
};

/// The fault name Rackspace Identity uses for a status.
pub fn v2_fault(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 409 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        413 | 429 => "overLimit",
        415 => "unsupportedMediaType",
        _ => "identityFault",
    }
}

/// Keystone v3's text for every authentication failure (it never says which part failed).
pub const V3_UNAUTHORIZED: &str = "The request you have made requires authentication.";

/// Keystone v3's text for an action the caller may not take.
pub const V3_FORBIDDEN: &str = "You are not authorized to perform the requested action.";

/// Every error an identity handler returns.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A v2.0 (Rackspace) error; `kind` defaults to the usual fault for the status.
    #[error("{status} {message}")]
    V2 {
        status: StatusCode,
        kind: Option<&'static str>,
        message: String,
    },
    /// A v3 error.
    #[error("{status} {message}")]
    V3 { status: StatusCode, message: String },
    /// A body fixed elsewhere (an injected behaviour, a `common` extractor).
    #[error("{0}")]
    Api(ApiError),
    /// The state store failed: a 500 whose body says nothing about why.
    #[error("the state store failed: {0}")]
    Store(#[from] StoreError),
}

impl IdentityError {
    pub fn v2(status: StatusCode, message: impl Into<String>) -> IdentityError {
        IdentityError::V2 {
            status,
            kind: None,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> IdentityError {
        Self::v2(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> IdentityError {
        Self::v2(StatusCode::UNAUTHORIZED, message)
    }

    pub fn not_found(message: impl Into<String>) -> IdentityError {
        Self::v2(StatusCode::NOT_FOUND, message)
    }

    pub fn v3(status: StatusCode, message: impl Into<String>) -> IdentityError {
        IdentityError::V3 {
            status,
            message: message.into(),
        }
    }

    /// Turns an error of `common`'s extractors (413, unreadable body) into a v3 error.
    pub fn into_v3(self) -> IdentityError {
        match self {
            IdentityError::V2 {
                status, message, ..
            } => IdentityError::V3 { status, message },
            IdentityError::Api(e) => match e.message() {
                Some(m) => IdentityError::V3 {
                    status: e.status(),
                    message: m.to_string(),
                },
                None => IdentityError::Api(e),
            },
            other => other,
        }
    }
}

impl From<Refused> for IdentityError {
    /// A refused change of the external APIs, in the v2 format; a 409 is a `conflict`
    /// there, as Mimic wrote it.
    fn from(r: Refused) -> IdentityError {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
        IdentityError::V2 {
            status,
            kind: (status == StatusCode::CONFLICT).then_some("conflict"),
            message: r.message,
        }
    }
}

impl Failure {
    /// Mimic's body: `{type: {message, code}}`, or the bare message when type is `string`.
    pub fn into_v2(self) -> IdentityError {
        if self.is_bare() {
            return ApiError::raw(self.status, "text/plain; charset=utf-8", self.message).into();
        }
        ApiError::json(
            self.status,
            json!({ self.kind: {"message": self.message, "code": self.status.as_u16()} }),
        )
        .into()
    }

    /// The same failure for a v3 client, in v3's error format.
    pub fn into_v3(self) -> IdentityError {
        if self.is_bare() {
            return self.into_v2();
        }
        ApiError::new(V3_STYLE, self.status, self.message).into()
    }
}

impl From<ApiError> for IdentityError {
    fn from(e: ApiError) -> Self {
        IdentityError::Api(e)
    }
}

impl ResponseError for IdentityError {
    fn status_code(&self) -> StatusCode {
        match self {
            IdentityError::V2 { status, .. } | IdentityError::V3 { status, .. } => *status,
            IdentityError::Api(e) => e.status(),
            IdentityError::Store(e) => common::error::store_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            IdentityError::V2 {
                status,
                kind,
                message,
            } => {
                let e = ApiError::new(V2_STYLE, *status, message.as_str());
                match kind {
                    Some(k) => e.kind(*k),
                    None => e,
                }
                .to_response()
            }
            IdentityError::V3 { status, message } => {
                let e = ApiError::new(V3_STYLE, *status, message.as_str());
                if *status == StatusCode::UNAUTHORIZED {
                    e.header(
                        HeaderName::from_static("www-authenticate"),
                        "Keystone uri=\"/v3\"",
                    )
                } else {
                    e
                }
                .to_response()
            }
            IdentityError::Api(e) => e.to_response(),
            IdentityError::Store(e) => {
                tracing::error!(error = %e, "identity request failed in the store");
                let status = common::error::store_status(e);
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    ApiError::new(V2_STYLE, status, common::error::STORE_UNAVAILABLE)
                        .kind("serviceUnavailable")
                        .to_response()
                } else {
                    ApiError::new(V2_STYLE, status, "Internal server error.").to_response()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn render_v2(status: StatusCode, message: &str) -> Value {
        (V2_STYLE.render)(status, None, message)
    }

    #[test]
    fn v2_errors_are_wrapped_in_the_fault_name() {
        assert_eq!(
            render_v2(StatusCode::NOT_FOUND, "Token not found."),
            json!({"itemNotFound": {"code": 404, "message": "Token not found."}})
        );
        assert_eq!(
            v2_fault(StatusCode::SERVICE_UNAVAILABLE),
            "identityFault",
            "Rackspace answers 503 as identityFault"
        );
        assert_eq!(v2_fault(StatusCode::PAYLOAD_TOO_LARGE), "overLimit");
    }

    #[test]
    fn v3_errors_carry_a_title() {
        assert_eq!(
            (V3_STYLE.render)(StatusCode::NOT_FOUND, None, "Could not find token: x."),
            json!({"error": {"code": 404, "message": "Could not find token: x.", "title": "Not Found"}})
        );
    }
}
