//! Request bodies parsed as JSON whatever their `Content-Type`.
//!
//! Real suites post control bodies with no `Content-Type` (otter does), so [`Json`]
//! never insists on `application/json`. Malformed JSON and oversized bodies answer in
//! the API's own error format, with the API's own text (`ServiceSpec::bad_json`).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::context::ServiceContext;
use crate::error::{ApiError, ErrorStyle};

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The whole body as bytes, with the size limit enforced in the API's format. Empty
/// when there is no body.
pub struct Body(pub bytes::Bytes);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<ServiceContext>>().cloned();
        let body = Body::from_request(req, payload);
        Box::pin(async move {
            let Body(bytes) = body.await?;
            let (style, message) = ctx
                .as_ref()
                .map(|c| (c.style, c.spec.bad_json))
                .unwrap_or((ErrorStyle::CONTROL, "Invalid JSON request body"));
            serde_json::from_slice(&bytes).map(Json).map_err(|e| {
                tracing::debug!(error = %e, "request body is not the expected JSON");
                ApiError::new(style, StatusCode::BAD_REQUEST, message).kind("badRequest")
            })
        })
    }
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<ServiceContext>>().cloned();
        let path = req.path().to_string();
        let mut payload = payload.take();
        Box::pin(async move {
            let (style, limit) = ctx
                .as_ref()
                .map(|c| (c.style, c.base.server.request_body_limit_bytes))
                .unwrap_or((ErrorStyle::CONTROL, 1 << 20));
            let limit = body_limit_for(&path, limit);
            let mut buf = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(
                        style,
                        StatusCode::BAD_REQUEST,
                        format!("cannot read body: {e}"),
                    )
                    .kind("badRequest")
                })?;
                if buf.len() + chunk.len() > limit {
                    return Err(too_large(style, limit));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(Body(buf.freeze()))
        })
    }
}

/// The largest state snapshot `PUT /_understudy/v1/state` takes: a busy stack's
/// snapshot is larger than any API body.
pub const STATE_BODY_LIMIT: usize = 256 << 20;

/// The body limit of a path: `server.request_body_limit_bytes` (`limit`), or
/// [`STATE_BODY_LIMIT`] for a state to restore.
pub fn body_limit_for(path: &str, limit: usize) -> usize {
    if path == "/_understudy/v1/state" {
        STATE_BODY_LIMIT
    } else {
        limit
    }
}

/// 413 for a body over the limit, in the API's format.
pub fn too_large(style: ErrorStyle, limit: usize) -> ApiError {
    ApiError::new(
        style,
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body is larger than the limit of {limit} bytes"),
    )
}
