//! Nova's error body, `{"<faultName>": {"message": ..., "code": N}}`, and the mock's
//! error type, rendered through that style.

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use common::error::{ApiError, ErrorStyle};
use common::store::StoreError;
use serde_json::Value;

/// webob's explanation for 401, which Nova's fault wrapper answers with.
pub const UNAUTHORIZED: &str = "This server could not verify that you are authorized to access \
the document you requested. Either you supplied the wrong credentials (e.g., bad password), or \
your browser does not understand how to supply the credentials required.";

/// webob's explanation for 500: what any unexpected failure answers.
pub const INTERNAL: &str =
    "The server has either erred or is incapable of performing the requested operation.";

/// webob's explanation for 404 (unknown routes, unknown flavors).
pub const NOT_FOUND: &str = "The resource could not be found.";

/// Nova's fault names by status [nova/api/openstack/wsgi.py `Fault._fault_names`].
pub fn fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

fn render(status: StatusCode, kind: Option<&str>, message: &str) -> Value {
    // common's own 401 text is Rackspace's; Nova answers with webob's.
    let message =
        if status == StatusCode::UNAUTHORIZED && message == common::auth::UNAUTHORIZED_MESSAGE {
            UNAUTHORIZED
        } else {
            message
        };
    ErrorStyle::wrapped(status, kind.unwrap_or(fault_name(status)), message)
}

/// How every Nova error body is written.
pub const NOVA: ErrorStyle = ErrorStyle { render };

/// How the image service (Glance v2) writes its errors: `{"message", "code": "404 Not
/// Found", "title"}` (the code is Glance's text, not a number).
pub const GLANCE: ErrorStyle = ErrorStyle {
    render: |status, _kind, message| {
        let reason = status.canonical_reason().unwrap_or("Error");
        serde_json::json!({
            "message": message,
            "code": format!("{} {reason}", status.as_u16()),
            "title": reason,
        })
    },
};

/// Everything a compute handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// An answer in Nova's format.
    #[error("{status} {message}")]
    Nova {
        status: StatusCode,
        message: String,
        /// Nova adds `Retry-After: 0` to quota 403s.
        retry_after: bool,
    },
    /// An answer built elsewhere (common's extractors, Mimic's raw-string faults).
    #[error("{0}")]
    Api(ApiError),
    #[error("state store failed: {0}")]
    Store(#[from] StoreError),
}

impl ComputeError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ComputeError {
        ComputeError::Nova {
            status,
            message: message.into(),
            retry_after: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ComputeError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ComputeError {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ComputeError {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ComputeError {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// A 403 with `Retry-After: 0`, as Nova's quota errors come.
    pub fn quota(message: impl Into<String>) -> ComputeError {
        ComputeError::Nova {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
            retry_after: true,
        }
    }

    /// "Instance <id> could not be found." (Kilo's `InstanceNotFound`).
    pub fn instance_not_found(id: &str) -> ComputeError {
        Self::not_found(format!("Instance {id} could not be found."))
    }

    /// 422 for a body without its wrapper object; 422 is not in Nova's fault map.
    pub fn unprocessable() -> ComputeError {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unable to process the contained instructions",
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ComputeError::Nova { status, .. } => *status,
            ComputeError::Api(e) => e.status(),
            ComputeError::Store(e) => common::error::store_status(e),
        }
    }
}

/// Metadata Nova refuses: 400, or 413 when there is too much of it.
impl From<crate::domain::server::MetadataError> for ComputeError {
    fn from(e: crate::domain::server::MetadataError) -> Self {
        use crate::domain::server::MetadataError;
        match e {
            MetadataError::Invalid(m) => ComputeError::bad_request(m),
            MetadataError::TooLong(m) => ComputeError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
        }
    }
}

impl From<ApiError> for ComputeError {
    fn from(e: ApiError) -> Self {
        ComputeError::Api(e)
    }
}

impl ResponseError for ComputeError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ComputeError::Nova {
                status,
                message,
                retry_after,
            } => {
                let e = ApiError::new(NOVA, *status, message.as_str());
                let e = if *retry_after {
                    e.header(RETRY_AFTER, "0")
                } else {
                    e
                };
                e.to_response()
            }
            ComputeError::Api(e) => e.to_response(),
            ComputeError::Store(e) => {
                tracing::error!(error = %e, "state store failed");
                let status = common::error::store_status(e);
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    ApiError::new(NOVA, status, common::error::STORE_UNAVAILABLE)
                        .kind("serviceUnavailable")
                        .to_response()
                } else {
                    ApiError::new(NOVA, status, INTERNAL).to_response()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_nova_fault_names() {
        let cases = [
            (400, "badRequest"),
            (401, "unauthorized"),
            (404, "itemNotFound"),
            (409, "conflictingRequest"),
            (413, "overLimit"),
            (422, "computeFault"),
            (500, "computeFault"),
        ];
        for (code, name) in cases {
            let status = StatusCode::from_u16(code).expect("valid status");
            assert_eq!(fault_name(status), name, "status {code}");
        }
    }

    #[test]
    fn commons_401_text_becomes_webobs() {
        let body = render(
            StatusCode::UNAUTHORIZED,
            Some("unauthorized"),
            common::auth::UNAUTHORIZED_MESSAGE,
        );
        assert_eq!(body["unauthorized"]["message"], UNAUTHORIZED);
        assert_eq!(body["unauthorized"]["code"], 401);
    }
}
